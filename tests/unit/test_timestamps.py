"""The accepted time range, the arithmetic on it and the one text form, at and beyond the bounds."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amss.app.programs.generation import DEFAULT_DURATION, free_window
from amss.domain.aircraft import Aircraft, confirmed_task_within
from amss.domain.compliance import ComplianceItem, check_may_change
from amss.domain.enums import AircraftStatus, ComplianceResult, IntervalType, Role, TaskState, TaskType
from amss.domain.errors import Immutable, InvalidTransition, ValidationFailed
from amss.domain.programs import MAX_CALENDAR_DAYS, MaintenanceProgram, calendar_due_date, program_due
from amss.domain.tasks import MaintenanceTask, TransitionFacts, apply_transition, check_window
from amss.domain.timestamps import (
    EARLIEST,
    LATEST,
    YEAR_PATTERN,
    check_timestamp,
    range_problem,
    shift,
    utc_text,
)

PLUS_ONE = timezone(timedelta(hours=1))
MINUS_ONE = timezone(timedelta(hours=-1))
ORG = uuid.uuid4()
MECHANIC = uuid.uuid4()


def test_the_bounds_are_1900_and_2200_in_utc() -> None:
    assert datetime(1900, 1, 1, tzinfo=UTC) == EARLIEST
    assert datetime(2200, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC) == LATEST


@pytest.mark.parametrize(
    "value",
    [
        EARLIEST,
        LATEST,
        datetime(1900, 1, 1, 1, 0, tzinfo=PLUS_ONE),  # 1900-01-01T00:00Z
        datetime(2200, 12, 31, 22, 59, tzinfo=MINUS_ONE),  # 2200-12-31T23:59Z
        datetime(2026, 6, 1, 12, tzinfo=UTC),
    ],
)
def test_values_inside_the_range_are_accepted(value: datetime) -> None:
    assert range_problem(value) is None
    assert check_timestamp("at", value) == value.astimezone(UTC)


@pytest.mark.parametrize(
    "value",
    [
        datetime(1, 1, 1, 0, 10, tzinfo=PLUS_ONE),  # not even representable in UTC
        datetime(9999, 12, 31, 23, 0, tzinfo=MINUS_ONE),  # idem
        datetime(1, 1, 1, tzinfo=UTC),
        datetime.max.replace(tzinfo=UTC),
        EARLIEST - timedelta(microseconds=1),
        LATEST + timedelta(microseconds=1),
        datetime(1900, 1, 1, 0, 30, tzinfo=PLUS_ONE),  # the year as written is in range, the instant not
        datetime(2200, 12, 31, 23, 30, tzinfo=MINUS_ONE),
    ],
)
def test_values_outside_the_range_are_refused_naming_the_field(value: datetime) -> None:
    assert range_problem(value) is not None
    with pytest.raises(ValidationFailed) as refused:
        check_timestamp("start_time", value)
    assert "start_time" in refused.value.details["fields"]


def test_a_naive_value_is_refused() -> None:
    assert range_problem(datetime(2026, 1, 1)) == "must carry a time zone offset"


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("1900-01-01T00:00:00Z", True),
        ("2200-12-31T23:59:59Z", True),
        ("2026-03-01T10:00:00+02:00", True),
        ("1899-12-31T23:59:59Z", False),
        ("2201-01-01T00:00:00Z", False),
        ("0001-01-01T00:10:00+01:00", False),
        ("9999-12-31T23:00:00-01:00", False),
    ],
)
def test_the_year_pattern_of_the_openapi_document(text: str, matches: bool) -> None:
    assert bool(re.match(YEAR_PATTERN, text)) is matches


def test_shift_clamps_instead_of_overflowing() -> None:
    top = datetime.max.replace(tzinfo=UTC)
    bottom = datetime.min.replace(tzinfo=UTC)
    assert shift(datetime(9999, 12, 31, 20, tzinfo=UTC), timedelta(hours=24)) == top
    assert shift(datetime(1, 1, 1, 0, 1, tzinfo=UTC), -timedelta(minutes=5)) == bottom
    assert shift(EARLIEST, timedelta(days=1)) == datetime(1900, 1, 2, tzinfo=UTC)


@given(
    st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 12, 31, 23, 59, 59), timezones=st.just(UTC)),
    st.integers(min_value=-MAX_CALENDAR_DAYS, max_value=MAX_CALENDAR_DAYS),
)
def test_every_bounded_interval_from_an_accepted_value_stays_representable(moment: datetime, days: int) -> None:
    shifted = shift(moment, timedelta(days=days))
    assert shifted == moment + timedelta(days=days)  # no clamping needed inside the range


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05Z"),
        (datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))), "2026-01-02T03:04:05Z"),
        (datetime(2026, 1, 2, 3, 4, 5, 120, tzinfo=UTC), "2026-01-02T03:04:05.000120Z"),
        (datetime(2026, 1, 2, 3, 4, 5), "2026-01-02T03:04:05Z"),  # naive is UTC, as the JSON encoder has it
        (EARLIEST, "1900-01-01T00:00:00Z"),
        (LATEST, "2200-12-31T23:59:59.999999Z"),
        (datetime(1, 1, 1, 0, 10, tzinfo=PLUS_ONE), "0001-01-01T00:10:00+01:00"),  # never raises
    ],
)
def test_utc_text_is_rfc3339_with_z(moment: datetime, text: str) -> None:
    assert utc_text(moment) == text


# --- the domain's arithmetic at the bounds ------------------------------------------------------


def _task(start: datetime, end: datetime, state: TaskState = TaskState.SCHEDULED) -> MaintenanceTask:
    return MaintenanceTask(
        id=uuid.uuid4(),
        org_id=ORG,
        aircraft_id=uuid.uuid4(),
        type=TaskType.INSPECTION,
        state=state,
        start_time=start,
        end_time=end,
        version=1,
        created_at=EARLIEST,
        updated_at=EARLIEST,
        assigned_mechanic_id=MECHANIC,
    )


def _facts(task: MaintenanceTask, now: datetime, role: Role = Role.SCHEDULER) -> TransitionFacts:
    return TransitionFacts(
        task=task, now=now, actor_role=role, actor_user_id=uuid.uuid4(), aircraft_status=AircraftStatus.GROUNDED
    )


def test_a_task_at_the_end_of_the_range_can_be_cancelled() -> None:
    task = _task(LATEST - timedelta(hours=4), LATEST)
    cancelled = apply_transition(TaskState.CANCELLED, _facts(task, datetime(2026, 1, 1, tzinfo=UTC)))
    assert cancelled.state is TaskState.CANCELLED


def test_a_task_stored_near_year_9999_can_still_be_cancelled() -> None:
    """A row written by SQL beyond the range: the 24 h window clamps instead of overflowing."""
    task = _task(datetime(9999, 12, 31, 20, tzinfo=UTC), datetime(9999, 12, 31, 22, tzinfo=UTC))
    assert apply_transition(TaskState.CANCELLED, _facts(task, datetime(2026, 1, 1, tzinfo=UTC))).state is (
        TaskState.CANCELLED
    )


def test_a_task_at_the_start_of_the_range_answers_too_late_not_overflow() -> None:
    task = _task(EARLIEST, EARLIEST + timedelta(hours=1))
    with pytest.raises(InvalidTransition) as refused:
        apply_transition(TaskState.IN_PROGRESS, _facts(task, datetime(2026, 1, 1, tzinfo=UTC)))
    assert refused.value.details["rule"] == "window_passed"
    assert "1900-01-01T01:00:00Z" in refused.value.message
    with pytest.raises(InvalidTransition) as late:
        apply_transition(TaskState.CANCELLED, _facts(task, datetime(2026, 1, 1, tzinfo=UTC)))
    assert "cancellation closed at 1900-01-02T00:00:00Z" in late.value.message


def test_a_year_1_task_stored_by_sql_answers_too_late_not_overflow() -> None:
    task = _task(datetime(1, 1, 1, 0, 1, tzinfo=UTC), datetime(1, 1, 1, 1, tzinfo=UTC))
    with pytest.raises(InvalidTransition):
        apply_transition(TaskState.IN_PROGRESS, _facts(task, datetime(2026, 1, 1, tzinfo=UTC)))


def test_the_before_end_time_message_uses_z() -> None:
    task = _task(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC), TaskState.IN_PROGRESS)
    facts = TransitionFacts(
        task=task,
        now=datetime(2026, 1, 1, 12, tzinfo=UTC),
        actor_role=Role.MECHANIC,
        actor_user_id=MECHANIC,
        aircraft_status=AircraftStatus.GROUNDED,
        notes="done",
    )
    with pytest.raises(InvalidTransition) as refused:
        apply_transition(TaskState.COMPLETED, facts)
    assert "it ends at 2026-01-02T00:00:00Z;" in refused.value.message
    assert "+00:00" not in refused.value.message


def test_a_signed_items_sign_off_time_is_reported_with_z() -> None:
    item = ComplianceItem(
        id=uuid.uuid4(),
        org_id=ORG,
        task_id=uuid.uuid4(),
        description="torque",
        result=ComplianceResult.PASS,
        sign_off_user_id=MECHANIC,
        sign_off_time=datetime(2026, 1, 1, 8, tzinfo=UTC),
        version=2,
        created_at=EARLIEST,
        updated_at=EARLIEST,
    )
    with pytest.raises(Immutable) as refused:
        check_may_change(item, Role.MECHANIC, TaskState.IN_PROGRESS)
    assert refused.value.details == {"sign_off_time": "2026-01-01T08:00:00Z"}


@pytest.mark.parametrize("bound", [(EARLIEST - timedelta(seconds=1)), (LATEST + timedelta(seconds=1))])
def test_a_window_outside_the_range_is_refused_by_the_domain(bound: datetime) -> None:
    with pytest.raises(ValidationFailed):
        check_window(bound, bound + timedelta(hours=1))


def _program(last_performed: datetime | None, interval_days: int = MAX_CALENDAR_DAYS) -> MaintenanceProgram:
    return MaintenanceProgram(
        id=uuid.uuid4(),
        org_id=ORG,
        name="A-check",
        interval_type=IntervalType.CALENDAR,
        interval_value=interval_days,
        version=1,
        created_at=EARLIEST,
        updated_at=EARLIEST,
        aircraft_id=uuid.uuid4(),
        last_performed=last_performed,
    )


def _aircraft(next_due: datetime | None = None) -> Aircraft:
    return Aircraft(
        id=uuid.uuid4(),
        org_id=ORG,
        tail_number="N1",
        model="A320",
        status=AircraftStatus.OPERATIONAL,
        capacity_slots=1,
        flight_hours_total=0,
        cycles_total=0,
        version=1,
        created_at=EARLIEST,
        updated_at=EARLIEST,
        next_due=next_due,
    )


def test_the_longest_interval_from_the_latest_value_is_computed() -> None:
    assert calendar_due_date(_program(LATEST)) == LATEST + timedelta(days=MAX_CALENDAR_DAYS)


def test_a_due_date_stored_near_year_9999_clamps() -> None:
    due = calendar_due_date(_program(datetime(9999, 1, 1, tzinfo=UTC)))
    assert due == datetime.max.replace(tzinfo=UTC)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert program_due(_program(datetime(9999, 1, 1, tzinfo=UTC)), _aircraft(), now=now, lead_time=timedelta(1)) is (
        None
    )


def test_a_huge_lead_time_clamps_instead_of_overflowing() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    due = program_due(_program(None), _aircraft(), now=now, lead_time=timedelta.max)
    assert due is not None and due.due_at == datetime.max.replace(tzinfo=UTC)
    assert confirmed_task_within([_task(LATEST - timedelta(hours=1), LATEST)], now, timedelta.max) is not None


def test_the_generator_window_at_the_end_of_the_representable_range_clamps() -> None:
    start = datetime(9999, 12, 31, 22, tzinfo=UTC)
    window = free_window(start, DEFAULT_DURATION, [])
    assert window == (start, datetime.max.replace(tzinfo=UTC))
