"""Hands-on work on a task (start, complete, mark a part used, sign off): who may do it, as a table.

Each kind of work lists the roles that may do it and, for each, whether only on a task assigned
to them (`ASSIGNED`) or on any task of the organization (`ANY_TASK`). A role not listed may not
do that work at all. The role table (docs/api.md, amss/auth/rbac.py) says who may try; this says on which tasks.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from amss.domain.enums import Role
from amss.domain.errors import Forbidden


class TaskWork(StrEnum):
    START = "start"
    COMPLETE = "complete"
    MARK_USED = "mark_used"
    SIGN_OFF = "sign_off"


class Scope(StrEnum):
    ANY_TASK = "any_task"
    ASSIGNED = "assigned"  # only on a task whose assigned_mechanic_id is the actor


_ANY, _OWN = Scope.ANY_TASK, Scope.ASSIGNED

WORK_RULES: Final[Mapping[TaskWork, Mapping[Role, Scope]]] = MappingProxyType(
    {
        TaskWork.START: {Role.ADMIN: _ANY, Role.SCHEDULER: _ANY, Role.MECHANIC: _OWN},
        TaskWork.COMPLETE: {Role.ADMIN: _ANY, Role.SCHEDULER: _ANY, Role.MECHANIC: _OWN},
        TaskWork.MARK_USED: {Role.ADMIN: _ANY, Role.SCHEDULER: _ANY, Role.MECHANIC: _OWN},
        # the specification: sign-off is a mechanic's; the role table's S for admin stays
        TaskWork.SIGN_OFF: {Role.ADMIN: _ANY, Role.MECHANIC: _OWN},
    }
)

_WHAT: Final = {
    TaskWork.START: "start this task",
    TaskWork.COMPLETE: "complete this task",
    TaskWork.MARK_USED: "mark a part of this task used",
    TaskWork.SIGN_OFF: "sign off a compliance item of this task",
}


def may_work(
    work: TaskWork, actor_role: Role, actor_user_id: uuid.UUID, assigned_mechanic_id: uuid.UUID | None
) -> bool:
    scope = WORK_RULES[work].get(actor_role)
    if scope is None:
        return False
    return scope is Scope.ANY_TASK or (assigned_mechanic_id is not None and assigned_mechanic_id == actor_user_id)


def check_may_work(
    work: TaskWork, actor_role: Role, actor_user_id: uuid.UUID, assigned_mechanic_id: uuid.UUID | None
) -> None:
    """Forbidden unless the table lets this role do this work on a task assigned to whom it is."""
    if may_work(work, actor_role, actor_user_id, assigned_mechanic_id):
        return
    scope = WORK_RULES[work].get(actor_role)
    if scope is Scope.ASSIGNED:
        raise Forbidden(f"a {actor_role} can {_WHAT[work]} only when the task is assigned to them")
    raise Forbidden(f"a {actor_role} cannot {_WHAT[work]}")
