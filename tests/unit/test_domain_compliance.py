"""Compliance items: edits before sign-off, sign-off by the task's mechanic (or an admin), immutability afterwards."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from amss.domain.compliance import (
    TRANSITIONS,
    ComplianceItem,
    SignOffFacts,
    check_may_change,
    check_may_create,
    check_new_result,
    check_transition,
    edit,
    sign_off,
)
from amss.domain.enums import ComplianceResult, Role, TaskState
from amss.domain.errors import Conflict, Forbidden, Immutable, InvalidTransition, ValidationFailed

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CREATED = datetime(2026, 2, 1, tzinfo=UTC)
MECHANIC_ID = uuid.uuid4()
PENDING, PASS, FAIL = ComplianceResult.PENDING, ComplianceResult.PASS, ComplianceResult.FAIL
LIVE_TASK_STATES = (TaskState.SCHEDULED, TaskState.IN_PROGRESS)
FINISHED_TASK_STATES = (TaskState.COMPLETED, TaskState.CANCELLED)


def make_item(**fields: Any) -> ComplianceItem:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "org_id": uuid.uuid4(),
        "task_id": uuid.uuid4(),
        "description": "inspect the left main gear",
        "result": PENDING,
        "version": 1,
        "created_at": CREATED,
        "updated_at": CREATED,
    }
    values.update(fields)
    return ComplianceItem(**values)


def signed_item(result: ComplianceResult = PASS) -> ComplianceItem:
    return make_item(result=result, sign_off_user_id=MECHANIC_ID, sign_off_time=CREATED, version=2)


def facts(item: ComplianceItem | None = None, **fields: Any) -> SignOffFacts:
    values: dict[str, Any] = {
        "item": item or make_item(),
        "now": NOW,
        "actor_role": Role.MECHANIC,
        "actor_user_id": MECHANIC_ID,
        "task_state": TaskState.IN_PROGRESS,
        "task_assigned_mechanic_id": MECHANIC_ID,
    }
    values.update(fields)
    return SignOffFacts(**values)


def test_the_table_holds_sign_off_as_pass_or_fail() -> None:
    assert set(TRANSITIONS) == {(PENDING, PASS), (PENDING, FAIL)}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(ComplianceResult, ComplianceResult)))
def test_every_result_pair_is_sign_off_immutable_or_invalid(
    current: ComplianceResult, target: ComplianceResult
) -> None:
    item = make_item() if current is PENDING else signed_item(current)
    if (current, target) in TRANSITIONS:
        check_transition(current, target, facts(item))
    elif current is PENDING:
        with pytest.raises(InvalidTransition) as caught:
            check_transition(current, target, facts(item))
        assert (caught.value.details["current_state"], caught.value.details["target_state"]) == ("pending", "pending")
    else:
        with pytest.raises(Immutable):
            check_transition(current, target, facts(item))


@pytest.mark.parametrize("result", [PASS, FAIL])
def test_a_mechanic_signs_off_with_pass_or_fail(result: ComplianceResult) -> None:
    item = make_item()
    signed = sign_off(result, facts(item))
    assert signed.result is result
    assert (signed.sign_off_user_id, signed.sign_off_time) == (MECHANIC_ID, NOW)
    assert (signed.version, signed.updated_at) == (item.version + 1, NOW)
    assert signed.signed_off
    assert signed.satisfied


@pytest.mark.parametrize("result", [None, PENDING])
def test_sign_off_needs_pass_or_fail(result: ComplianceResult | None) -> None:
    with pytest.raises(ValidationFailed) as caught:
        sign_off(result, facts())
    assert "result" in caught.value.details["fields"]


@pytest.mark.parametrize("role", [r for r in Role if r not in (Role.MECHANIC, Role.ADMIN)])
def test_only_a_mechanic_or_an_admin_signs_off(role: Role) -> None:
    with pytest.raises(Forbidden):
        sign_off(PASS, facts(actor_role=role))


@pytest.mark.parametrize("assigned", [MECHANIC_ID, uuid.uuid4(), None])
def test_an_admin_signs_off_an_item_of_any_task(assigned: uuid.UUID | None) -> None:
    admin_id = uuid.uuid4()
    facts_now = facts(actor_role=Role.ADMIN, actor_user_id=admin_id, task_assigned_mechanic_id=assigned)
    assert sign_off(PASS, facts_now).sign_off_user_id == admin_id


def test_a_signed_item_cannot_be_signed_again() -> None:
    with pytest.raises(Immutable):
        sign_off(FAIL, facts(signed_item(PASS)))


def test_a_deleted_item_cannot_be_signed_off() -> None:
    with pytest.raises(InvalidTransition) as caught:
        sign_off(PASS, facts(make_item(deleted_at=CREATED)))
    assert caught.value.details["rule"] == "item_deleted"


@pytest.mark.parametrize("task_state", FINISHED_TASK_STATES)
def test_items_of_a_finished_task_cannot_be_signed_off(task_state: TaskState) -> None:
    with pytest.raises(InvalidTransition) as caught:
        sign_off(PASS, facts(task_state=task_state))
    assert caught.value.details["rule"] == "task_closed"


@pytest.mark.parametrize("task_state", LIVE_TASK_STATES)
def test_items_of_a_scheduled_or_in_progress_task_can_be_signed_off(task_state: TaskState) -> None:
    sign_off(PASS, facts(task_state=task_state))


@pytest.mark.parametrize("assigned", [uuid.uuid4(), None])
def test_a_mechanic_signs_off_only_the_items_of_a_task_assigned_to_them(assigned: uuid.UUID | None) -> None:
    item = make_item()
    with pytest.raises(Forbidden):
        sign_off(PASS, facts(item, task_assigned_mechanic_id=assigned))


# --- create and edit before sign-off ------------------------------------------------------


@pytest.mark.parametrize(("role", "allowed"), [(r, r in (Role.MECHANIC, Role.ADMIN)) for r in Role])
def test_mechanics_and_admins_create_items(role: Role, allowed: bool) -> None:
    if allowed:
        check_may_create(role, TaskState.SCHEDULED)
    else:
        with pytest.raises(Forbidden):
            check_may_create(role, TaskState.SCHEDULED)


@pytest.mark.parametrize("task_state", FINISHED_TASK_STATES)
def test_items_cannot_be_added_to_a_finished_task(task_state: TaskState) -> None:
    with pytest.raises(Conflict):
        check_may_create(Role.MECHANIC, task_state)


def test_a_mechanic_edits_the_description_before_sign_off() -> None:
    item = make_item()
    edited = edit(item, "  inspect both main gears ", Role.MECHANIC, TaskState.IN_PROGRESS, NOW)
    assert (edited.description, edited.version, edited.updated_at) == ("inspect both main gears", 2, NOW)


def test_an_edit_to_the_same_text_changes_nothing() -> None:
    item = make_item()
    assert edit(item, item.description, Role.MECHANIC, TaskState.SCHEDULED, NOW) is item


@pytest.mark.parametrize("text", ["", "   "])
def test_a_description_is_required(text: str) -> None:
    with pytest.raises(ValidationFailed):
        edit(make_item(), text, Role.MECHANIC, TaskState.SCHEDULED, NOW)


@pytest.mark.parametrize("role", [Role.SCHEDULER, Role.AUDITOR, Role.TENANT_ADMIN])
def test_schedulers_auditors_and_tenant_admins_only_read_items(role: Role) -> None:
    with pytest.raises(Forbidden):
        edit(make_item(), "new text", role, TaskState.SCHEDULED, NOW)


@pytest.mark.parametrize("result", [PASS, FAIL])
@pytest.mark.parametrize("role", [Role.MECHANIC, Role.ADMIN])
def test_every_change_after_sign_off_is_rejected_as_immutable(result: ComplianceResult, role: Role) -> None:
    item = signed_item(result)
    with pytest.raises(Immutable):
        edit(item, "rewritten history", role, TaskState.IN_PROGRESS, NOW)
    with pytest.raises(Immutable):
        check_may_change(item, role, TaskState.IN_PROGRESS)  # deletes go through the same rule


@pytest.mark.parametrize("task_state", FINISHED_TASK_STATES)
def test_items_of_a_finished_task_cannot_change(task_state: TaskState) -> None:
    with pytest.raises(Conflict):
        edit(make_item(), "late edit", Role.MECHANIC, task_state, NOW)


def test_a_deleted_item_cannot_change() -> None:
    with pytest.raises(Conflict):
        check_may_change(make_item(deleted_at=CREATED), Role.MECHANIC, TaskState.SCHEDULED)


def test_a_signed_item_with_a_pending_result_does_not_satisfy_completion() -> None:
    assert not replace(signed_item(), result=PENDING).satisfied
    assert not make_item(result=PASS).satisfied


def test_an_admin_acting_for_another_organization_cannot_sign_off() -> None:
    with pytest.raises(Forbidden):
        sign_off(PASS, facts(actor_role=Role.ADMIN, actor_user_id=uuid.uuid4(), actor_in_org=False))


@pytest.mark.parametrize("result", list(ComplianceResult))
def test_a_new_item_is_pending_only_sign_off_records_pass_or_fail(result: ComplianceResult) -> None:
    if result is PENDING:
        check_new_result(result)
    else:
        with pytest.raises(ValidationFailed) as caught:
            check_new_result(result)
        assert "result" in caught.value.details["fields"]
