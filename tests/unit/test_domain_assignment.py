"""Hands-on work on a task: the assigned mechanic does it; schedulers and admins as the table says."""

from __future__ import annotations

import itertools
import uuid

import pytest

from amss.domain.assignment import WORK_RULES, Scope, TaskWork, check_may_work, may_work
from amss.domain.enums import Role
from amss.domain.errors import Forbidden

ACTOR = uuid.uuid4()
SOMEONE_ELSE = uuid.uuid4()

# the rule, written out independently of the table: who may do each work, on which tasks
EXPECTED: dict[TaskWork, dict[Role, Scope]] = {
    TaskWork.START: {Role.ADMIN: Scope.ANY_TASK, Role.SCHEDULER: Scope.ANY_TASK, Role.MECHANIC: Scope.ASSIGNED},
    TaskWork.COMPLETE: {Role.ADMIN: Scope.ANY_TASK, Role.SCHEDULER: Scope.ANY_TASK, Role.MECHANIC: Scope.ASSIGNED},
    TaskWork.MARK_USED: {Role.ADMIN: Scope.ANY_TASK, Role.SCHEDULER: Scope.ANY_TASK, Role.MECHANIC: Scope.ASSIGNED},
    TaskWork.SIGN_OFF: {Role.ADMIN: Scope.ANY_TASK, Role.MECHANIC: Scope.ASSIGNED},
}


def test_the_table_covers_every_kind_of_work() -> None:
    assert set(WORK_RULES) == set(TaskWork)
    assert {work: dict(rules) for work, rules in WORK_RULES.items()} == EXPECTED


@pytest.mark.parametrize(
    ("work", "role", "assignee"),
    list(itertools.product(TaskWork, Role, ["actor", "someone_else", "nobody"])),
)
def test_every_role_on_every_kind_of_task(work: TaskWork, role: Role, assignee: str) -> None:
    assigned = {"actor": ACTOR, "someone_else": SOMEONE_ELSE, "nobody": None}[assignee]
    scope = EXPECTED[work].get(role)
    allowed = scope is Scope.ANY_TASK or (scope is Scope.ASSIGNED and assignee == "actor")
    assert may_work(work, role, ACTOR, assigned) is allowed
    if allowed:
        check_may_work(work, role, ACTOR, assigned)
    else:
        with pytest.raises(Forbidden):
            check_may_work(work, role, ACTOR, assigned)


def test_a_mechanic_cannot_sign_off_an_item_of_another_mechanics_task() -> None:
    with pytest.raises(Forbidden) as caught:
        check_may_work(TaskWork.SIGN_OFF, Role.MECHANIC, ACTOR, SOMEONE_ELSE)
    assert "assigned to them" in str(caught.value)


def test_a_scheduler_never_signs_off() -> None:
    with pytest.raises(Forbidden):
        check_may_work(TaskWork.SIGN_OFF, Role.SCHEDULER, ACTOR, ACTOR)
