"""The maintenance task state machine and edit rules, enumerated: every (from, to) pair, every guard."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amss.domain.compliance import ComplianceItem
from amss.domain.enums import AircraftStatus, ComplianceResult, ReservationState, Role, TaskState, TaskType
from amss.domain.errors import Conflict, Forbidden, InvalidTransition, ScheduleOverlap, ValidationFailed
from amss.domain.parts import PartReservation
from amss.domain.tasks import (
    TRANSITIONS,
    MaintenanceTask,
    TaskPatch,
    TransitionFacts,
    UpdateFacts,
    apply_transition,
    check_may_delete,
    check_new_task,
    check_no_overlap,
    check_task_update,
    check_transition,
    check_window,
    windows_overlap,
)
from amss.domain.users import User

ORG = uuid.uuid4()
OTHER_ORG = uuid.uuid4()
AIRCRAFT = uuid.uuid4()
MECHANIC_ID = uuid.uuid4()
SCHEDULER_ID = uuid.uuid4()
START = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
END = START + timedelta(hours=4)
CREATED = datetime(2026, 2, 1, tzinfo=UTC)
S, IP, C, X = TaskState.SCHEDULED, TaskState.IN_PROGRESS, TaskState.COMPLETED, TaskState.CANCELLED


def make_task(state: TaskState = S, **fields: Any) -> MaintenanceTask:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "org_id": ORG,
        "aircraft_id": AIRCRAFT,
        "type": TaskType.INSPECTION,
        "state": state,
        "start_time": START,
        "end_time": END,
        "version": 3,
        "created_at": CREATED,
        "updated_at": CREATED,
        "assigned_mechanic_id": MECHANIC_ID,
    }
    values.update(fields)
    return MaintenanceTask(**values)


def make_user(role: Role = Role.MECHANIC, **fields: Any) -> User:
    values: dict[str, Any] = {
        "id": MECHANIC_ID,
        "org_id": ORG,
        "email": "m@example.com",
        "role": role,
        "version": 1,
        "created_at": CREATED,
        "updated_at": CREATED,
    }
    values.update(fields)
    return User(**values)


def reservation(state: ReservationState) -> PartReservation:
    return PartReservation(uuid.uuid4(), ORG, uuid.uuid4(), uuid.uuid4(), state, 1, 1, CREATED, CREATED)


def compliance(result: ComplianceResult, signed: bool, deleted: bool = False) -> ComplianceItem:
    return ComplianceItem(
        uuid.uuid4(),
        ORG,
        uuid.uuid4(),
        "torque check",
        result,
        1,
        CREATED,
        CREATED,
        sign_off_user_id=MECHANIC_ID if signed else None,
        sign_off_time=START if signed else None,
        deleted_at=START if deleted else None,
    )


def start_facts(**fields: Any) -> TransitionFacts:
    """Facts under which a scheduled task may start: the assigned mechanic, 5 minutes early."""
    values: dict[str, Any] = {
        "task": make_task(S),
        "now": START - timedelta(minutes=5),
        "actor_role": Role.MECHANIC,
        "actor_user_id": MECHANIC_ID,
        "aircraft_status": AircraftStatus.GROUNDED,
        "assigned_mechanic": make_user(),
    }
    values.update(fields)
    return TransitionFacts(**values)


def complete_facts(**fields: Any) -> TransitionFacts:
    """Facts under which an in-progress task may complete: at end_time, all closed, with notes."""
    values: dict[str, Any] = {
        "task": make_task(IP),
        "now": END,
        "actor_role": Role.MECHANIC,
        "actor_user_id": MECHANIC_ID,
        "aircraft_status": AircraftStatus.GROUNDED,
        "notes": "replaced the left brake unit",
        "reservations": (reservation(ReservationState.USED), reservation(ReservationState.RELEASED)),
        "compliance_items": (compliance(ComplianceResult.PASS, True), compliance(ComplianceResult.FAIL, True)),
    }
    values.update(fields)
    return TransitionFacts(**values)


def cancel_facts(current: TaskState = S, **fields: Any) -> TransitionFacts:
    values: dict[str, Any] = {
        "task": make_task(current),
        "now": START,
        "actor_role": Role.SCHEDULER,
        "actor_user_id": SCHEDULER_ID,
        "aircraft_status": AircraftStatus.GROUNDED,
    }
    values.update(fields)
    return TransitionFacts(**values)


LEGAL: dict[tuple[TaskState, TaskState], Callable[[], TransitionFacts]] = {
    (S, IP): start_facts,
    (IP, C): complete_facts,
    (S, X): lambda: cancel_facts(S),
    (IP, X): lambda: cancel_facts(IP),
}
ALL_PAIRS = list(itertools.product(TaskState, TaskState))


def refused_rule(current: TaskState, target: TaskState, facts: TransitionFacts) -> str:
    with pytest.raises(InvalidTransition) as caught:
        check_transition(current, target, facts)
    assert caught.value.details["current_state"] == current.value
    assert caught.value.details["target_state"] == target.value
    return str(caught.value.details["rule"])


def test_the_table_holds_exactly_start_complete_and_both_cancels() -> None:
    assert set(TRANSITIONS) == set(LEGAL)


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_every_pair_is_legal_exactly_when_it_is_in_the_table(current: TaskState, target: TaskState) -> None:
    if (current, target) in LEGAL:
        check_transition(current, target, LEGAL[(current, target)]())
        return
    # even an admin with an override, at a time every guard would accept, cannot take it
    facts = start_facts(task=make_task(current), actor_role=Role.ADMIN, override=True, now=START)
    with pytest.raises(InvalidTransition) as caught:
        check_transition(current, target, facts)
    assert current.value in caught.value.message
    assert target.value in caught.value.message


@pytest.mark.parametrize(("current", "target"), [p for p in ALL_PAIRS if p[0] in (C, X)])
def test_completed_and_cancelled_are_final_and_point_to_a_new_task(current: TaskState, target: TaskState) -> None:
    facts = cancel_facts(current, actor_role=Role.ADMIN, override=True)
    with pytest.raises(InvalidTransition, match="new task whose notes reference") as caught:
        check_transition(current, target, facts)
    assert caught.value.details["rule"] == "final_state"


def test_a_task_cannot_skip_start_or_go_back_to_scheduled() -> None:
    assert refused_rule(S, C, complete_facts(task=make_task(S))) == "no_such_transition"
    assert refused_rule(IP, S, start_facts(task=make_task(IP))) == "no_such_transition"
    assert refused_rule(S, S, start_facts()) == "no_such_transition"


def test_invalid_transition_is_a_conflict() -> None:
    assert issubclass(InvalidTransition, Conflict)


# --- scheduled -> in_progress -------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "allowed"),
    [
        (START - timedelta(minutes=6), False),
        (START - timedelta(minutes=5, microseconds=1), False),
        (START - timedelta(minutes=5), True),
        (START, True),
        (END - timedelta(microseconds=1), True),
        (END, False),
        (END + timedelta(hours=1), False),
    ],
)
def test_start_is_allowed_from_5_minutes_before_start_until_end_time(now: datetime, allowed: bool) -> None:
    facts = start_facts(now=now)
    if allowed:
        check_transition(S, IP, facts)
    else:
        assert refused_rule(S, IP, facts) in ("too_early", "window_passed")


def test_six_minutes_early_is_too_early_to_start() -> None:
    assert refused_rule(S, IP, start_facts(now=START - timedelta(minutes=6))) == "too_early"


@pytest.mark.parametrize("status", [AircraftStatus.OPERATIONAL, AircraftStatus.MAINTENANCE])
def test_start_needs_a_grounded_aircraft(status: AircraftStatus) -> None:
    assert refused_rule(S, IP, start_facts(aircraft_status=status)) == "aircraft_not_grounded"


@pytest.mark.parametrize(
    ("task_fields", "mechanic", "rule"),
    [
        ({"assigned_mechanic_id": None}, make_user(), "mechanic_missing"),
        ({}, None, "mechanic_unknown"),
        ({}, make_user(org_id=OTHER_ORG), "mechanic_unknown"),
        ({}, make_user(id=uuid.uuid4()), "mechanic_unknown"),
        ({}, make_user(role=Role.SCHEDULER), "mechanic_role"),
        ({}, make_user(role=Role.AUDITOR), "mechanic_role"),
        ({}, make_user(deleted_at=CREATED), "mechanic_deleted"),
    ],
)
def test_start_needs_an_assigned_live_mechanic_of_the_organization(
    task_fields: dict[str, Any], mechanic: User | None, rule: str
) -> None:
    # a scheduler starts, so the actor rule does not hide the mechanic rule
    facts = start_facts(
        task=make_task(S, **task_fields),
        assigned_mechanic=mechanic,
        actor_role=Role.SCHEDULER,
        actor_user_id=SCHEDULER_ID,
    )
    assert refused_rule(S, IP, facts) == rule


def test_start_is_refused_when_the_window_overlaps_an_active_task_of_the_aircraft() -> None:
    other = make_task(S, start_time=END - timedelta(hours=1), end_time=END + timedelta(hours=1))
    with pytest.raises(ScheduleOverlap) as caught:
        check_transition(S, IP, start_facts(aircraft_tasks=(other,)))
    assert caught.value.details["conflicting_task_id"] == str(other.id)
    # the API's timestamp form: RFC 3339, UTC, with Z
    assert caught.value.details["start_time"].endswith("Z")
    assert caught.value.details["end_time"] == other.end_time.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize(
    "other",
    [
        make_task(S, start_time=END, end_time=END + timedelta(hours=1)),
        make_task(S, start_time=START - timedelta(hours=1), end_time=START),
        make_task(C, start_time=START, end_time=END),
        make_task(X, start_time=START, end_time=END),
        make_task(S, start_time=START, end_time=END, deleted_at=CREATED),
        make_task(S, start_time=START, end_time=END, aircraft_id=uuid.uuid4()),
    ],
    ids=["touching-after", "touching-before", "completed", "cancelled", "deleted", "other-aircraft"],
)
def test_start_ignores_tasks_that_do_not_compete_for_the_window(other: MaintenanceTask) -> None:
    check_transition(S, IP, start_facts(aircraft_tasks=(other,)))


def test_start_does_not_count_the_task_against_itself() -> None:
    facts = start_facts()
    check_transition(S, IP, replace(facts, aircraft_tasks=(facts.task,)))


@pytest.mark.parametrize(("role", "allowed"), [(r, r in (Role.ADMIN, Role.SCHEDULER, Role.MECHANIC)) for r in Role])
def test_start_is_for_the_assigned_mechanic_a_scheduler_or_an_admin(role: Role, allowed: bool) -> None:
    facts = start_facts(actor_role=role)
    if allowed:
        check_transition(S, IP, facts)
    else:
        with pytest.raises(Forbidden):
            check_transition(S, IP, facts)


def test_a_mechanic_cannot_start_a_task_assigned_to_someone_else() -> None:
    with pytest.raises(Forbidden):
        check_transition(S, IP, start_facts(actor_user_id=uuid.uuid4()))


def test_start_takes_no_override() -> None:
    with pytest.raises(ValidationFailed):
        check_transition(S, IP, start_facts(actor_role=Role.ADMIN, override=True))


# --- in_progress -> completed -------------------------------------------------------------


def test_a_mechanic_cannot_complete_before_end_time() -> None:
    assert refused_rule(IP, C, complete_facts(now=END - timedelta(seconds=1))) == "before_end_time"


def test_a_scheduler_without_override_cannot_complete_early() -> None:
    facts = complete_facts(now=START, actor_role=Role.SCHEDULER, actor_user_id=SCHEDULER_ID)
    assert refused_rule(IP, C, facts) == "before_end_time"


@pytest.mark.parametrize("role", [Role.SCHEDULER, Role.ADMIN])
def test_a_scheduler_or_admin_override_allows_early_completion(role: Role) -> None:
    check_transition(IP, C, complete_facts(now=START, actor_role=role, actor_user_id=SCHEDULER_ID, override=True))


@pytest.mark.parametrize("now", [START, END, END + timedelta(days=1)])
def test_a_mechanic_asking_for_an_override_is_refused(now: datetime) -> None:
    with pytest.raises(Forbidden):
        check_transition(IP, C, complete_facts(now=now, override=True))


@pytest.mark.parametrize("now", [END, END + timedelta(days=30)])
def test_completion_at_or_after_end_time_needs_no_override(now: datetime) -> None:
    check_transition(IP, C, complete_facts(now=now))


def test_a_reservation_still_reserved_blocks_completion() -> None:
    held = reservation(ReservationState.RESERVED)
    facts = complete_facts(reservations=(reservation(ReservationState.USED), held))
    with pytest.raises(InvalidTransition) as caught:
        check_transition(IP, C, facts)
    assert caught.value.details["rule"] == "reservations_open"
    assert caught.value.details["reservation_ids"] == [str(held.id)]


@pytest.mark.parametrize(
    "item",
    [compliance(ComplianceResult.PENDING, signed=False), compliance(ComplianceResult.PASS, signed=False)],
    ids=["unsigned-pending", "unsigned-with-result"],
)
def test_an_unsigned_compliance_item_blocks_completion(item: ComplianceItem) -> None:
    assert refused_rule(IP, C, complete_facts(compliance_items=(item,))) == "compliance_open"


def test_a_signed_item_with_a_pending_result_blocks_completion() -> None:
    item = compliance(ComplianceResult.PENDING, signed=True)
    assert refused_rule(IP, C, complete_facts(compliance_items=(item,))) == "compliance_open"


def test_a_deleted_unsigned_compliance_item_does_not_block_completion() -> None:
    item = compliance(ComplianceResult.PENDING, signed=False, deleted=True)
    check_transition(IP, C, complete_facts(compliance_items=(item,)))


def test_a_task_without_reservations_or_compliance_items_can_complete() -> None:
    check_transition(IP, C, complete_facts(reservations=(), compliance_items=()))


@pytest.mark.parametrize("notes", [None, "", "   ", "\n\t"])
def test_completion_needs_non_blank_notes(notes: str | None) -> None:
    facts = complete_facts(notes=notes, task=make_task(IP, notes=None))
    with pytest.raises(ValidationFailed) as caught:
        check_transition(IP, C, facts)
    assert "notes" in caught.value.details["fields"]


def test_notes_already_on_the_task_satisfy_completion() -> None:
    check_transition(IP, C, complete_facts(notes=None, task=make_task(IP, notes="all done")))


def test_blank_notes_sent_with_completion_replace_the_tasks_notes_and_fail() -> None:
    with pytest.raises(ValidationFailed):
        check_transition(IP, C, complete_facts(notes=" ", task=make_task(IP, notes="all done")))


@pytest.mark.parametrize(("role", "allowed"), [(r, r in (Role.ADMIN, Role.SCHEDULER, Role.MECHANIC)) for r in Role])
def test_completion_is_for_the_assigned_mechanic_a_scheduler_or_an_admin(role: Role, allowed: bool) -> None:
    facts = complete_facts(actor_role=role)
    if allowed:
        check_transition(IP, C, facts)
    else:
        with pytest.raises(Forbidden):
            check_transition(IP, C, facts)


def test_a_mechanic_cannot_complete_a_task_assigned_to_someone_else() -> None:
    with pytest.raises(Forbidden):
        check_transition(IP, C, complete_facts(actor_user_id=uuid.uuid4()))


# --- any non-final -> cancelled -----------------------------------------------------------


@pytest.mark.parametrize("current", [S, IP])
@pytest.mark.parametrize("role", [Role.MECHANIC, Role.AUDITOR, Role.TENANT_ADMIN])
def test_only_a_scheduler_or_admin_can_cancel(current: TaskState, role: Role) -> None:
    with pytest.raises(Forbidden):
        check_transition(current, X, cancel_facts(current, actor_role=role))


@pytest.mark.parametrize("current", [S, IP])
@pytest.mark.parametrize("role", [Role.SCHEDULER, Role.ADMIN])
def test_a_scheduler_or_admin_cancels_before_start_plus_24_hours(current: TaskState, role: Role) -> None:
    check_transition(current, X, cancel_facts(current, actor_role=role, now=START + timedelta(hours=23, minutes=59)))


@pytest.mark.parametrize("role", [Role.SCHEDULER, Role.ADMIN])
def test_cancellation_closes_24_hours_after_start_without_override(role: Role) -> None:
    facts = cancel_facts(S, actor_role=role, now=START + timedelta(hours=24))
    assert refused_rule(S, X, facts) == "cancel_window_passed"


def test_an_admin_override_cancels_after_the_window() -> None:
    check_transition(S, X, cancel_facts(S, actor_role=Role.ADMIN, override=True, now=START + timedelta(days=7)))


def test_a_scheduler_asking_for_the_cancellation_override_is_refused() -> None:
    with pytest.raises(Forbidden):
        check_transition(S, X, cancel_facts(S, override=True, now=START + timedelta(days=7)))


# --- applying a transition ----------------------------------------------------------------


def test_applying_a_transition_bumps_the_version_and_stamps_the_time() -> None:
    facts = start_facts()
    started = apply_transition(IP, facts)
    assert started.state is IP
    assert started.version == facts.task.version + 1
    assert started.updated_at == facts.now
    assert started.notes == facts.task.notes


def test_notes_sent_with_a_transition_are_stored() -> None:
    completed = apply_transition(C, complete_facts(notes="see task 42"))
    assert completed.notes == "see task 42"


def test_a_refused_transition_changes_nothing() -> None:
    facts = start_facts(aircraft_status=AircraftStatus.OPERATIONAL)
    with pytest.raises(InvalidTransition):
        apply_transition(IP, facts)
    assert facts.task.state is S


# --- windows and creation -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (START, START, "end_time"),
        (START, START - timedelta(seconds=1), "end_time"),
        (START.replace(tzinfo=None), END, "start_time"),
        (START, END.replace(tzinfo=None), "end_time"),
    ],
)
def test_a_window_must_be_time_zone_aware_and_end_after_start(start: datetime, end: datetime, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_window(start, end)
    assert field in caught.value.details["fields"]


def test_a_window_with_any_offset_is_accepted() -> None:
    check_window(START.astimezone(timezone(timedelta(hours=-5))), END)


_instants = st.integers(min_value=0, max_value=10_000)


@given(_instants, _instants, _instants, _instants)
def test_overlap_is_symmetric_and_half_open(a: int, b: int, c: int, d: int) -> None:
    start_a, end_a = sorted((a, b))
    start_b, end_b = sorted((c, d))
    end_a, end_b = end_a + 1, end_b + 1
    times = [START + timedelta(minutes=x) for x in (start_a, end_a, start_b, end_b)]
    overlap = windows_overlap(*times)
    assert overlap == windows_overlap(times[2], times[3], times[0], times[1])
    assert overlap == (max(start_a, start_b) < min(end_a, end_b))


@pytest.mark.parametrize("role", [Role.MECHANIC, Role.AUDITOR, Role.TENANT_ADMIN])
def test_only_a_scheduler_or_admin_creates_tasks(role: Role) -> None:
    with pytest.raises(Forbidden):
        check_new_task(org_id=ORG, start_time=START, end_time=END, actor_role=role)


@pytest.mark.parametrize("role", [Role.SCHEDULER, Role.ADMIN, None])
def test_schedulers_admins_and_the_program_generator_create_tasks(role: Role | None) -> None:
    check_new_task(
        org_id=ORG,
        start_time=START,
        end_time=END,
        actor_role=role,
        assigned_mechanic_id=MECHANIC_ID,
        assigned_mechanic=make_user(),
    )


@pytest.mark.parametrize(
    "mechanic", [None, make_user(role=Role.SCHEDULER), make_user(deleted_at=CREATED), make_user(org_id=OTHER_ORG)]
)
def test_a_new_task_can_only_be_assigned_to_a_live_mechanic_of_the_organization(mechanic: User | None) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_new_task(
            org_id=ORG,
            start_time=START,
            end_time=END,
            actor_role=Role.SCHEDULER,
            assigned_mechanic_id=MECHANIC_ID,
            assigned_mechanic=mechanic,
        )
    assert "assigned_mechanic_id" in caught.value.details["fields"]


def test_a_new_task_overlapping_an_active_task_is_a_schedule_overlap_naming_it() -> None:
    other = make_task(IP)
    with pytest.raises(ScheduleOverlap) as caught:
        check_no_overlap(None, AIRCRAFT, START + timedelta(hours=1), END + timedelta(hours=1), [other])
    assert caught.value.details["conflicting_task_id"] == str(other.id)


# --- PATCH of non-state fields ------------------------------------------------------------


@pytest.mark.parametrize(("role", "allowed"), [(r, r in (Role.ADMIN, Role.SCHEDULER)) for r in Role])
def test_only_a_scheduler_or_admin_patches_a_task(role: Role, allowed: bool) -> None:
    patch = TaskPatch(notes="moved to hangar 2")
    if allowed:
        assert check_task_update(make_task(S), patch, UpdateFacts(role)) == {"notes": "moved to hangar 2"}
    else:
        with pytest.raises(Forbidden):
            check_task_update(make_task(S), patch, UpdateFacts(role))


@pytest.mark.parametrize("state", [C, X])
@pytest.mark.parametrize("patch", [TaskPatch(), TaskPatch(notes="typo"), TaskPatch(end_time=END + timedelta(hours=1))])
def test_patching_a_completed_or_cancelled_task_is_a_conflict(state: TaskState, patch: TaskPatch) -> None:
    with pytest.raises(Conflict, match="new task"):
        check_task_update(make_task(state), patch, UpdateFacts(Role.ADMIN))


def test_a_patch_that_changes_nothing_has_no_changes() -> None:
    task = make_task(S)
    patch = TaskPatch(type=task.type, start_time=task.start_time, notes=task.notes)
    assert check_task_update(task, patch, UpdateFacts(Role.SCHEDULER)) == {}


def test_a_new_window_is_rechecked_for_overlap_excluding_the_task_itself() -> None:
    task = make_task(S)
    neighbour = make_task(S, start_time=END, end_time=END + timedelta(hours=2))
    facts = UpdateFacts(Role.SCHEDULER, aircraft_tasks=(task, neighbour))
    assert check_task_update(task, TaskPatch(start_time=START - timedelta(hours=1)), facts) == {
        "start_time": START - timedelta(hours=1)
    }
    with pytest.raises(ScheduleOverlap):
        check_task_update(task, TaskPatch(end_time=END + timedelta(minutes=1)), facts)


def test_patched_times_are_normalised_to_utc() -> None:
    later = (START + timedelta(hours=1)).astimezone(timezone(timedelta(hours=2)))
    changes = check_task_update(make_task(S), TaskPatch(start_time=later), UpdateFacts(Role.SCHEDULER))
    moved = changes["start_time"]
    assert isinstance(moved, datetime)
    assert moved == later
    assert moved.tzinfo is UTC


@pytest.mark.parametrize(
    "patch",
    [
        TaskPatch(end_time=START),
        TaskPatch(start_time=END + timedelta(hours=1)),
        TaskPatch(start_time=START.replace(tzinfo=None)),
    ],
)
def test_a_patched_window_must_stay_valid(patch: TaskPatch) -> None:
    with pytest.raises(ValidationFailed):
        check_task_update(make_task(S), patch, UpdateFacts(Role.SCHEDULER))


@pytest.mark.parametrize(
    "patch",
    [
        TaskPatch(start_time=START + timedelta(minutes=30)),
        TaskPatch(type=TaskType.REPAIR),
        TaskPatch(assigned_mechanic_id=None),
    ],
    ids=["start_time", "type", "unassign"],
)
def test_an_in_progress_task_keeps_its_start_type_and_a_mechanic(patch: TaskPatch) -> None:
    with pytest.raises(Conflict):
        check_task_update(make_task(IP), patch, UpdateFacts(Role.SCHEDULER))


def test_an_in_progress_task_may_run_longer_and_change_hands() -> None:
    other_mechanic = make_user(id=uuid.uuid4())
    patch = TaskPatch(end_time=END + timedelta(hours=2), assigned_mechanic_id=other_mechanic.id, notes="shift change")
    changes = check_task_update(make_task(IP), patch, UpdateFacts(Role.SCHEDULER, assigned_mechanic=other_mechanic))
    assert changes == {
        "end_time": END + timedelta(hours=2),
        "assigned_mechanic_id": other_mechanic.id,
        "notes": "shift change",
    }


def test_a_scheduled_task_can_be_unassigned() -> None:
    assert check_task_update(make_task(S), TaskPatch(assigned_mechanic_id=None), UpdateFacts(Role.SCHEDULER)) == {
        "assigned_mechanic_id": None
    }


@pytest.mark.parametrize("mechanic", [None, make_user(role=Role.AUDITOR), make_user(deleted_at=CREATED)])
def test_a_task_can_only_be_reassigned_to_a_live_mechanic(mechanic: User | None) -> None:
    patch = TaskPatch(assigned_mechanic_id=MECHANIC_ID)
    with pytest.raises(ValidationFailed):
        check_task_update(
            make_task(S, assigned_mechanic_id=None), patch, UpdateFacts(Role.SCHEDULER, assigned_mechanic=mechanic)
        )


# --- delete -------------------------------------------------------------------------------


@pytest.mark.parametrize(("state", "allowed"), [(S, True), (X, True), (IP, False), (C, False)])
def test_only_scheduled_or_cancelled_tasks_can_be_deleted(state: TaskState, allowed: bool) -> None:
    if allowed:
        check_may_delete(make_task(state), Role.SCHEDULER)
    else:
        with pytest.raises(Conflict):
            check_may_delete(make_task(state), Role.SCHEDULER)


def test_a_mechanic_cannot_delete_a_task() -> None:
    with pytest.raises(Forbidden):
        check_may_delete(make_task(S), Role.MECHANIC)
