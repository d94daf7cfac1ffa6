"""Aircraft status, explicit and automatic, enumerated over every pair; grounding rules; usage counters."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amss.domain.aircraft import (
    MAX_COUNTER,
    TRANSITIONS,
    Aircraft,
    StatusFacts,
    apply_status,
    automatic_status,
    check_capacity_slots,
    check_maintenance_dates,
    check_may_delete,
    check_transition,
    confirmed_task_within,
    grounding_origin,
    normalized_tail_number,
    record_usage,
)
from amss.domain.enums import AircraftStatus, GroundingOrigin, Role, TaskState, TaskType
from amss.domain.errors import Conflict, Forbidden, InvalidTransition, ValidationFailed
from amss.domain.tasks import MaintenanceTask

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
LEAD = timedelta(hours=24)
CREATED = datetime(2026, 1, 1, tzinfo=UTC)
AIRCRAFT_ID = uuid.uuid4()
OP, GR, MT = AircraftStatus.OPERATIONAL, AircraftStatus.GROUNDED, AircraftStatus.MAINTENANCE
ALL_PAIRS = list(itertools.product(AircraftStatus, AircraftStatus))
EXPLICIT_ROLES = (Role.SCHEDULER, Role.MECHANIC, Role.ADMIN)
TASK_GROUNDED = GroundingOrigin.TASK


def make_aircraft(status: AircraftStatus = OP, **fields: Any) -> Aircraft:
    values: dict[str, Any] = {
        "id": AIRCRAFT_ID,
        "org_id": uuid.uuid4(),
        "tail_number": "N123AB",
        "model": "A320",
        "status": status,
        "capacity_slots": 1,
        "flight_hours_total": 1200,
        "cycles_total": 800,
        "version": 4,
        "created_at": CREATED,
        "updated_at": CREATED,
    }
    values.update(fields)
    return Aircraft(**values)


def make_task(
    state: TaskState = TaskState.SCHEDULED,
    starts_in: timedelta = timedelta(hours=2),
    hours: int = 3,
    mechanic: bool = True,
    deleted: bool = False,
) -> MaintenanceTask:
    start = NOW + starts_in
    return MaintenanceTask(
        id=uuid.uuid4(),
        org_id=uuid.uuid4(),
        aircraft_id=AIRCRAFT_ID,
        type=TaskType.INSPECTION,
        state=state,
        start_time=start,
        end_time=start + timedelta(hours=hours),
        version=1,
        created_at=CREATED,
        updated_at=CREATED,
        assigned_mechanic_id=uuid.uuid4() if mechanic else None,
        deleted_at=CREATED if deleted else None,
    )


def explicit(role: Role = Role.SCHEDULER, *tasks: MaintenanceTask) -> StatusFacts:
    return StatusFacts(now=NOW, lead_time=LEAD, actor_role=role, tasks=tasks)


def automatic(*tasks: MaintenanceTask, grounded_by: GroundingOrigin | None = GroundingOrigin.TASK) -> StatusFacts:
    """The system's facts; a grounded aircraft here was grounded by the system for a task."""
    return StatusFacts(now=NOW, lead_time=LEAD, actor_role=None, tasks=tasks, grounded_by=grounded_by)


def rule_of(current: AircraftStatus, target: AircraftStatus, facts: StatusFacts) -> str:
    with pytest.raises(InvalidTransition) as caught:
        check_transition(current, target, facts)
    assert caught.value.details["current_state"] == current.value
    assert caught.value.details["target_state"] == target.value
    return str(caught.value.details["rule"])


CONFIRMED_SOON = make_task(starts_in=timedelta(hours=2))
IN_PROGRESS = make_task(TaskState.IN_PROGRESS, starts_in=-timedelta(hours=1))


def test_the_table_holds_every_change_between_different_statuses() -> None:
    assert set(TRANSITIONS) == {(a, b) for a, b in ALL_PAIRS if a is not b}


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
@pytest.mark.parametrize("role", EXPLICIT_ROLES)
def test_every_explicit_change_between_different_statuses_is_allowed_when_nothing_is_in_progress(
    current: AircraftStatus, target: AircraftStatus, role: Role
) -> None:
    if current is target:
        assert rule_of(current, target, explicit(role)) == "no_such_transition"
    else:
        check_transition(current, target, explicit(role, CONFIRMED_SOON))


@pytest.mark.parametrize(("current", "target"), [p for p in ALL_PAIRS if p[0] is not p[1]])
@pytest.mark.parametrize("role", [Role.TENANT_ADMIN, Role.AUDITOR])
def test_tenant_admins_and_auditors_cannot_change_status(
    current: AircraftStatus, target: AircraftStatus, role: Role
) -> None:
    with pytest.raises(Forbidden):
        check_transition(current, target, explicit(role))


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_with_a_task_in_progress_no_change_leads_to_operational(
    current: AircraftStatus, target: AircraftStatus
) -> None:
    facts = explicit(Role.ADMIN, IN_PROGRESS)
    if current is target:
        assert rule_of(current, target, facts) == "no_such_transition"
    elif target is OP:
        assert rule_of(current, target, facts) == "task_in_progress"
    else:
        check_transition(current, target, facts)


@pytest.mark.parametrize(("current", "target"), ALL_PAIRS)
def test_automatic_changes_only_ground_and_release(current: AircraftStatus, target: AircraftStatus) -> None:
    # facts under which the grounding rule (or, without tasks, the release rule) applies
    facts = automatic(CONFIRMED_SOON) if target is GR else automatic()
    if (current, target) in ((OP, GR), (GR, OP)):
        check_transition(current, target, facts)
    elif current is target:
        assert rule_of(current, target, facts) == "no_such_transition"
    else:
        assert rule_of(current, target, facts) == "explicit_only"


@pytest.mark.parametrize(
    ("task", "grounds"),
    [
        (make_task(starts_in=timedelta(hours=2)), True),
        (make_task(starts_in=LEAD), True),
        (make_task(starts_in=LEAD + timedelta(seconds=1)), False),
        (make_task(starts_in=-timedelta(hours=1)), True),
        (make_task(starts_in=-timedelta(hours=3)), False),
        (make_task(starts_in=timedelta(hours=2), mechanic=False), False),
        (make_task(TaskState.CANCELLED), False),
        (make_task(TaskState.COMPLETED), False),
        (make_task(deleted=True), False),
    ],
    ids=[
        "confirmed-in-2h",
        "confirmed-exactly-at-lead",
        "confirmed-just-beyond-lead",
        "confirmed-late-window-open",
        "confirmed-window-ended",
        "no-mechanic",
        "cancelled",
        "completed",
        "deleted",
    ],
)
def test_an_operational_aircraft_is_grounded_by_a_confirmed_task_within_the_lead_time(
    task: MaintenanceTask, grounds: bool
) -> None:
    assert automatic_status(OP, [task], NOW, LEAD, task_finished=False, grounded_by=None) == (GR if grounds else None)
    if grounds:
        check_transition(OP, GR, automatic(task))
    else:
        assert rule_of(OP, GR, automatic(task)) == "no_confirmed_task"


@pytest.mark.parametrize(
    ("tasks", "releases"),
    [
        ((), True),
        ((make_task(TaskState.COMPLETED),), True),
        ((make_task(starts_in=LEAD + timedelta(hours=1)),), True),
        ((make_task(mechanic=False),), True),
        ((IN_PROGRESS,), False),
        ((CONFIRMED_SOON,), False),
    ],
    ids=["no-tasks", "only-completed", "confirmed-beyond-lead", "unconfirmed-soon", "in-progress", "confirmed-soon"],
)
def test_a_grounded_aircraft_is_released_when_a_task_finishes_and_nothing_holds_it(
    tasks: tuple[MaintenanceTask, ...], releases: bool
) -> None:
    assert automatic_status(GR, tasks, NOW, LEAD, task_finished=True, grounded_by=TASK_GROUNDED) == (
        OP if releases else None
    )
    if releases:
        check_transition(GR, OP, automatic(*tasks))
    else:
        assert rule_of(GR, OP, automatic(*tasks)) in ("task_in_progress", "confirmed_task_near")


def test_a_grounded_aircraft_is_not_released_unless_a_task_finished() -> None:
    assert automatic_status(GR, (), NOW, LEAD, task_finished=False, grounded_by=TASK_GROUNDED) is None


def test_the_automatic_rules_never_touch_maintenance() -> None:
    assert automatic_status(MT, (CONFIRMED_SOON,), NOW, LEAD, task_finished=False, grounded_by=None) is None
    assert automatic_status(MT, (), NOW, LEAD, task_finished=True, grounded_by=None) is None


@pytest.mark.parametrize("tasks", [(), (make_task(TaskState.COMPLETED),), (make_task(mechanic=False),)])
def test_a_grounding_a_person_made_is_never_released_automatically(tasks: tuple[MaintenanceTask, ...]) -> None:
    # grounded by hand for a defect: an unrelated task finishing (completed, cancelled, deleted) leaves it
    manual = GroundingOrigin.MANUAL
    assert automatic_status(GR, tasks, NOW, LEAD, task_finished=True, grounded_by=manual) is None
    assert rule_of(GR, OP, automatic(*tasks, grounded_by=manual)) == "manual_grounding"
    # a person releases it, as before
    check_transition(GR, OP, explicit(Role.MECHANIC, *tasks))


@pytest.mark.parametrize(
    ("status", "automatic", "origin"),
    [
        (GR, True, GroundingOrigin.TASK),
        (GR, False, GroundingOrigin.MANUAL),
        (OP, True, None),
        (OP, False, None),
        (MT, False, None),
    ],
)
def test_every_grounding_records_who_made_it(
    status: AircraftStatus, automatic: bool, origin: GroundingOrigin | None
) -> None:
    assert grounding_origin(status, automatic=automatic) is origin


def test_applying_a_status_records_the_grounding_origin() -> None:
    aircraft = make_aircraft()
    grounded = apply_status(aircraft, GR, automatic(CONFIRMED_SOON, grounded_by=None))
    assert (grounded.status, grounded.grounded_by) == (GR, GroundingOrigin.TASK)
    released = apply_status(grounded, OP, automatic(grounded_by=grounded.grounded_by))
    assert (released.status, released.grounded_by) == (OP, None)
    by_hand = apply_status(aircraft, GR, explicit(Role.MECHANIC))
    assert by_hand.grounded_by is GroundingOrigin.MANUAL


_offsets = st.integers(min_value=-72, max_value=72).map(lambda h: timedelta(hours=h))
_tasks = st.builds(
    make_task,
    state=st.sampled_from(TaskState),
    starts_in=_offsets,
    hours=st.integers(min_value=1, max_value=12),
    mechanic=st.booleans(),
    deleted=st.booleans(),
)


@given(st.sampled_from(AircraftStatus), st.lists(_tasks, max_size=5), st.booleans())
def test_an_automatic_status_is_always_a_legal_automatic_transition(
    status: AircraftStatus, tasks: list[MaintenanceTask], task_finished: bool
) -> None:
    grounded_by = grounding_origin(status, automatic=True)
    target = automatic_status(status, tasks, NOW, LEAD, task_finished=task_finished, grounded_by=grounded_by)
    if target is not None:
        assert target is not status
        assert MT not in (status, target)
        check_transition(status, target, automatic(*tasks, grounded_by=grounded_by))


def test_the_earliest_confirmed_task_is_the_one_reported() -> None:
    later, sooner = make_task(starts_in=timedelta(hours=5)), make_task(starts_in=timedelta(hours=1))
    assert confirmed_task_within([later, sooner], NOW, LEAD) is sooner


def test_applying_a_status_bumps_the_version() -> None:
    aircraft = make_aircraft(OP)
    grounded = apply_status(aircraft, GR, explicit(Role.MECHANIC))
    assert (grounded.status, grounded.version, grounded.updated_at) == (GR, aircraft.version + 1, NOW)


def test_usage_ingestion_adds_to_the_counters_and_bumps_the_version() -> None:
    aircraft = make_aircraft()
    flown = record_usage(aircraft, flight_hours=5, cycles=2, now=NOW)
    assert (flown.flight_hours_total, flown.cycles_total) == (1205, 802)
    assert flown.version == aircraft.version + 1


def test_usage_of_nothing_changes_nothing() -> None:
    aircraft = make_aircraft()
    assert record_usage(aircraft, flight_hours=0, cycles=0, now=NOW) is aircraft


@pytest.mark.parametrize(("flight_hours", "cycles", "field"), [(-1, 0, "flight_hours"), (0, -1, "cycles")])
def test_usage_values_must_not_be_negative(flight_hours: int, cycles: int, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        record_usage(make_aircraft(), flight_hours=flight_hours, cycles=cycles, now=NOW)
    assert field in caught.value.details["fields"]


def test_usage_counters_stay_within_the_column_range() -> None:
    with pytest.raises(ValidationFailed):
        record_usage(make_aircraft(flight_hours_total=MAX_COUNTER), flight_hours=1, cycles=0, now=NOW)


def test_next_due_must_be_after_last_maintenance() -> None:
    check_maintenance_dates(NOW, NOW + timedelta(days=1))
    check_maintenance_dates(None, NOW)
    with pytest.raises(ValidationFailed):
        check_maintenance_dates(NOW, NOW)
    with pytest.raises(ValidationFailed):
        check_maintenance_dates(NOW.replace(tzinfo=None), None)


@pytest.mark.parametrize(("slots", "valid"), [(0, False), (-1, False), (1, True), (12, True)])
def test_capacity_slots_must_be_positive(slots: int, valid: bool) -> None:
    if valid:
        check_capacity_slots(slots)
    else:
        with pytest.raises(ValidationFailed):
            check_capacity_slots(slots)


def test_tail_number_is_trimmed_and_required() -> None:
    assert normalized_tail_number("  N1  ") == "N1"
    with pytest.raises(ValidationFailed):
        normalized_tail_number("   ")


def test_an_aircraft_with_active_tasks_cannot_be_deleted() -> None:
    check_may_delete([make_task(TaskState.COMPLETED), make_task(TaskState.CANCELLED)])
    with pytest.raises(Conflict):
        check_may_delete([CONFIRMED_SOON])
