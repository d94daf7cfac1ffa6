"""Compliance items: who may create, edit and sign them off, and why a signed item never changes.

The result moves only through sign-off, so the result is the state: `pending` means open,
`pass` or `fail` means signed and immutable. Before sign-off a mechanic (or an admin, per the
role table) edits the description; the mechanic assigned to the item's task signs it off (an
admin any item; the table of amss/domain/assignment.py, as for start, complete and mark-used).
Items belong to a live task: once the task is completed or cancelled, its items are closed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
from typing import Final

from amss.domain.assignment import TaskWork, check_may_work
from amss.domain.enums import ComplianceResult, Role, TaskState
from amss.domain.errors import Conflict, Forbidden, Immutable, InvalidTransition, ValidationFailed
from amss.domain.timestamps import optional_utc_text

EDITOR_ROLES: Final = frozenset({Role.MECHANIC, Role.ADMIN})
OPEN_TASK_STATES: Final = frozenset({TaskState.SCHEDULED, TaskState.IN_PROGRESS})


@dataclass(frozen=True)
class ComplianceItem:
    id: uuid.UUID
    org_id: uuid.UUID
    task_id: uuid.UUID
    description: str
    result: ComplianceResult
    version: int
    created_at: datetime
    updated_at: datetime
    sign_off_user_id: uuid.UUID | None = None
    sign_off_time: datetime | None = None
    deleted_at: datetime | None = None

    @property
    def signed_off(self) -> bool:
        return self.sign_off_time is not None

    @property
    def satisfied(self) -> bool:
        """What task completion asks of an item: signed off with a definite result."""
        return self.signed_off and self.result is not ComplianceResult.PENDING


@dataclass(frozen=True)
class SignOffFacts:
    """What the application layer gathers before a sign-off; the domain decides."""

    item: ComplianceItem
    now: datetime
    actor_role: Role
    actor_user_id: uuid.UUID
    task_state: TaskState
    # the task's assigned_mechanic_id: a mechanic signs off only the items of their own task
    task_assigned_mechanic_id: uuid.UUID | None
    # the signer is recorded as a user of the item's organization: an admin acting for another
    # organization (X-Org-ID) is not one
    actor_in_org: bool = True


def _refuse(current: ComplianceResult, target: ComplianceResult, rule: str, message: str) -> InvalidTransition:
    return InvalidTransition(
        f"compliance item cannot go from {current} to {target}: {message}",
        {"current_state": current.value, "target_state": target.value, "rule": rule},
    )


def _guard_sign_off(current: ComplianceResult, target: ComplianceResult, facts: SignOffFacts) -> None:
    check_may_work(TaskWork.SIGN_OFF, facts.actor_role, facts.actor_user_id, facts.task_assigned_mechanic_id)
    if not facts.actor_in_org:
        raise Forbidden("a sign-off names a user of the organization; sign in to it to sign off")
    if facts.item.signed_off:
        raise _immutable(facts.item)
    if facts.item.deleted_at is not None:
        raise _refuse(current, target, "item_deleted", "the item is deleted")
    if facts.task_state not in OPEN_TASK_STATES:
        raise _refuse(current, target, "task_closed", f"its task is {facts.task_state}")


ComplianceGuard = Callable[[ComplianceResult, ComplianceResult, SignOffFacts], None]

# pending -> pass | fail is the sign-off; a signed result never moves again
TRANSITIONS: Final[Mapping[tuple[ComplianceResult, ComplianceResult], ComplianceGuard]] = MappingProxyType(
    {
        (ComplianceResult.PENDING, ComplianceResult.PASS): _guard_sign_off,
        (ComplianceResult.PENDING, ComplianceResult.FAIL): _guard_sign_off,
    }
)


def _immutable(item: ComplianceItem) -> Immutable:
    return Immutable(
        f"compliance item {item.id} is signed off and immutable",
        {"sign_off_time": optional_utc_text(item.sign_off_time)},
    )


def check_transition(current: ComplianceResult, target: ComplianceResult, facts: SignOffFacts) -> None:
    """A signed result (pass or fail) is Immutable; pending -> pending is no transition."""
    guard = TRANSITIONS.get((current, target))
    if guard is not None:
        guard(current, target, facts)
        return
    if current is not ComplianceResult.PENDING:
        raise _immutable(facts.item)
    raise _refuse(current, target, "no_such_transition", "sign-off records pass or fail")


def sign_off(result: ComplianceResult | None, facts: SignOffFacts) -> ComplianceItem:
    """The item signed by the acting mechanic now, with result pass or fail."""
    if result is None or result is ComplianceResult.PENDING:
        raise ValidationFailed.on_field("result", "sign-off requires pass or fail")
    check_transition(facts.item.result, result, facts)
    return replace(
        facts.item,
        result=result,
        sign_off_user_id=facts.actor_user_id,
        sign_off_time=facts.now,
        version=facts.item.version + 1,
        updated_at=facts.now,
    )


def normalized_description(description: str) -> str:
    text = description.strip()
    if not text:
        raise ValidationFailed.on_field("description", "required")
    return text


def check_new_result(result: ComplianceResult) -> None:
    """A new item is pending: only sign-off records pass or fail."""
    if result is not ComplianceResult.PENDING:
        raise ValidationFailed.on_field("result", "a new item is pending; sign-off records pass or fail")


def check_may_create(actor_role: Role, task_state: TaskState) -> None:
    if actor_role not in EDITOR_ROLES:
        raise Forbidden("only a mechanic can create compliance items")
    if task_state not in OPEN_TASK_STATES:
        raise Conflict(f"compliance items cannot be added to a {task_state} task")


def check_may_change(item: ComplianceItem, actor_role: Role, task_state: TaskState) -> None:
    """Edits and deletes: by an editor, before sign-off, while the task is live."""
    if actor_role not in EDITOR_ROLES:
        raise Forbidden("only a mechanic can change compliance items")
    if item.signed_off:
        raise _immutable(item)
    if item.deleted_at is not None:
        raise Conflict(f"compliance item {item.id} is deleted")
    if task_state not in OPEN_TASK_STATES:
        raise Conflict(f"compliance items of a {task_state} task cannot change")


def edit(
    item: ComplianceItem, description: str, actor_role: Role, task_state: TaskState, now: datetime
) -> ComplianceItem:
    """The item with a new description; unchanged (same version) when the text is the same."""
    check_may_change(item, actor_role, task_state)
    text = normalized_description(description)
    if text == item.description:
        return item
    return replace(item, description=text, version=item.version + 1, updated_at=now)
