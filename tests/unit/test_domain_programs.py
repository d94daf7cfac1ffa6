"""Maintenance programs: when each kind of program is due, and what completing its task records."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from amss.domain.aircraft import Aircraft
from amss.domain.enums import AircraftStatus, IntervalType, TaskState, TaskType
from amss.domain.errors import ValidationFailed
from amss.domain.programs import (
    MAX_CALENDAR_DAYS,
    Due,
    MaintenanceProgram,
    calendar_due_date,
    check_interval,
    check_last_performed,
    normalized_name,
    program_due,
    record_performance,
)
from amss.domain.tasks import MaintenanceTask

NOW = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
LEAD = timedelta(days=2)
CREATED = datetime(2025, 1, 1, tzinfo=UTC)
AIRCRAFT_ID = uuid.uuid4()
CAL, HOURS, CYCLES = IntervalType.CALENDAR, IntervalType.FLIGHT_HOURS, IntervalType.CYCLES


def make_aircraft(**fields: Any) -> Aircraft:
    values: dict[str, Any] = {
        "id": AIRCRAFT_ID,
        "org_id": uuid.uuid4(),
        "tail_number": "N1",
        "model": "B737",
        "status": AircraftStatus.OPERATIONAL,
        "capacity_slots": 1,
        "flight_hours_total": 1000,
        "cycles_total": 500,
        "version": 1,
        "created_at": CREATED,
        "updated_at": CREATED,
    }
    values.update(fields)
    return Aircraft(**values)


def make_program(interval_type: IntervalType = CAL, interval_value: int = 30, **fields: Any) -> MaintenanceProgram:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "org_id": uuid.uuid4(),
        "name": "A-check",
        "interval_type": interval_type,
        "interval_value": interval_value,
        "version": 1,
        "created_at": CREATED,
        "updated_at": CREATED,
        "aircraft_id": AIRCRAFT_ID,
    }
    values.update(fields)
    return MaintenanceProgram(**values)


def program_task(state: TaskState, deleted: bool = False) -> MaintenanceTask:
    return MaintenanceTask(
        id=uuid.uuid4(),
        org_id=uuid.uuid4(),
        aircraft_id=AIRCRAFT_ID,
        type=TaskType.INSPECTION,
        state=state,
        start_time=NOW,
        end_time=NOW + timedelta(hours=2),
        version=1,
        created_at=CREATED,
        updated_at=CREATED,
        deleted_at=CREATED if deleted else None,
    )


def due(program: MaintenanceProgram, aircraft: Aircraft | None = None, **kwargs: Any) -> Due | None:
    return program_due(program, aircraft or make_aircraft(), now=NOW, lead_time=LEAD, **kwargs)


# --- calendar -----------------------------------------------------------------------------


def test_a_first_calendar_task_is_due_at_the_aircrafts_next_due() -> None:
    next_due = NOW + timedelta(days=10)
    assert due(make_program(), make_aircraft(next_due=next_due)) == Due(next_due)


def test_a_first_calendar_task_without_next_due_is_due_after_the_lead_time() -> None:
    assert due(make_program(), make_aircraft(next_due=None)) == Due(NOW + LEAD)


def test_a_first_calendar_task_whose_next_due_has_passed_is_not_scheduled_in_the_past() -> None:
    assert due(make_program(), make_aircraft(next_due=NOW - timedelta(days=1))) == Due(NOW + LEAD)


@pytest.mark.parametrize(
    ("elapsed", "is_due"),
    [
        (timedelta(days=29, hours=23), False),
        (timedelta(days=30) - timedelta(microseconds=1), False),
        (timedelta(days=30), True),
        (timedelta(days=45), True),
    ],
)
def test_a_calendar_program_is_due_once_interval_days_have_passed(elapsed: timedelta, is_due: bool) -> None:
    program = make_program(interval_value=30, last_performed=NOW - elapsed)
    assert due(program) == (Due(NOW + LEAD) if is_due else None)


def test_the_calendar_due_date_is_last_performed_plus_interval_days() -> None:
    assert calendar_due_date(make_program(interval_value=7, last_performed=NOW)) == NOW + timedelta(days=7)
    assert calendar_due_date(make_program(last_performed=None)) is None
    assert calendar_due_date(make_program(HOURS, last_performed=NOW)) is None


@given(st.integers(min_value=1, max_value=MAX_CALENDAR_DAYS), st.integers(min_value=0, max_value=10**6))
def test_calendar_due_ness_follows_the_interval(interval_days: int, minutes_ago: int) -> None:
    last = NOW - timedelta(minutes=minutes_ago)
    result = due(make_program(interval_value=interval_days, last_performed=last))
    if last + timedelta(days=interval_days) <= NOW:
        assert result == Due(NOW + LEAD)
    else:
        assert result is None


@given(st.one_of(st.none(), st.integers(min_value=-(10**6), max_value=10**6)))
def test_a_first_calendar_task_is_never_due_in_the_past(next_due_minutes: int | None) -> None:
    next_due = None if next_due_minutes is None else NOW + timedelta(minutes=next_due_minutes)
    result = due(make_program(), make_aircraft(next_due=next_due))
    assert result is not None
    assert result.due_at > NOW
    assert result.due_at in (next_due, NOW + LEAD)


# --- flight hours and cycles --------------------------------------------------------------


@pytest.mark.parametrize(("interval_type", "counter_field"), [(HOURS, "flight_hours_total"), (CYCLES, "cycles_total")])
@pytest.mark.parametrize(("counter", "is_due"), [(1099, False), (1100, True), (1500, True)])
def test_a_usage_program_is_due_when_the_counter_has_run_its_interval(
    interval_type: IntervalType, counter_field: str, counter: int, is_due: bool
) -> None:
    program = make_program(interval_type, interval_value=100, last_performed_usage=1000)
    result = due(program, make_aircraft(**{counter_field: counter}))
    assert result == (Due(NOW + LEAD, due_usage=1100, usage=counter) if is_due else None)


def test_flight_hour_programs_read_flight_hours_and_cycle_programs_read_cycles() -> None:
    aircraft = make_aircraft(flight_hours_total=150, cycles_total=50)
    assert due(make_program(HOURS, 100), aircraft) is not None
    assert due(make_program(CYCLES, 100), aircraft) is None


def test_a_usage_program_never_performed_counts_from_zero() -> None:
    assert due(make_program(HOURS, 2000, last_performed_usage=None), make_aircraft(flight_hours_total=1999)) is None
    assert due(make_program(HOURS, 2000, last_performed_usage=None), make_aircraft(flight_hours_total=2000)) == Due(
        NOW + LEAD, due_usage=2000, usage=2000
    )


def test_a_counter_below_the_recorded_usage_is_not_due() -> None:
    assert due(make_program(CYCLES, 10, last_performed_usage=900), make_aircraft(cycles_total=100)) is None


@given(
    st.sampled_from([HOURS, CYCLES]),
    st.integers(min_value=1, max_value=10**6),
    st.one_of(st.none(), st.integers(min_value=0, max_value=10**6)),
    st.integers(min_value=0, max_value=3 * 10**6),
)
def test_usage_due_ness_is_counter_minus_last_usage_against_the_interval(
    interval_type: IntervalType, interval: int, last_usage: int | None, counter: int
) -> None:
    aircraft = make_aircraft(flight_hours_total=counter, cycles_total=counter)
    result = due(make_program(interval_type, interval, last_performed_usage=last_usage), aircraft)
    if counter - (last_usage or 0) >= interval:
        assert result == Due(NOW + LEAD, due_usage=(last_usage or 0) + interval, usage=counter)
    else:
        assert result is None


# --- what is never due --------------------------------------------------------------------


@pytest.mark.parametrize("interval_type", list(IntervalType))
def test_a_template_is_never_due(interval_type: IntervalType) -> None:
    assert due(make_program(interval_type, 1, aircraft_id=None)) is None
    assert program_due(make_program(interval_type, 1, aircraft_id=None), None, now=NOW, lead_time=LEAD) is None


def test_deleted_programs_and_aircraft_are_never_due() -> None:
    assert due(make_program(deleted_at=CREATED)) is None
    assert due(make_program(), make_aircraft(deleted_at=CREATED)) is None


@pytest.mark.parametrize(
    ("task", "blocks"),
    [
        (program_task(TaskState.SCHEDULED), True),
        (program_task(TaskState.IN_PROGRESS), True),
        (program_task(TaskState.COMPLETED), False),
        (program_task(TaskState.CANCELLED), False),
        (program_task(TaskState.SCHEDULED, deleted=True), False),
    ],
)
def test_a_program_with_an_open_task_is_not_due_again(task: MaintenanceTask, blocks: bool) -> None:
    result = due(make_program(last_performed=None), program_tasks=[task])
    assert (result is None) is blocks


# --- completion ---------------------------------------------------------------------------


def test_completing_a_calendar_task_records_when() -> None:
    program = make_program(last_performed=NOW - timedelta(days=40), last_performed_usage=None)
    done = record_performance(program, make_aircraft(), completed_at=NOW)
    assert (done.last_performed, done.last_performed_usage) == (NOW, None)
    assert (done.version, done.updated_at) == (program.version + 1, NOW)
    assert due(done) is None


@pytest.mark.parametrize(("interval_type", "counter"), [(HOURS, 1000), (CYCLES, 500)])
def test_completing_a_usage_task_records_when_and_the_counter(interval_type: IntervalType, counter: int) -> None:
    done = record_performance(
        make_program(interval_type, 100, last_performed_usage=0), make_aircraft(), completed_at=NOW
    )
    assert (done.last_performed, done.last_performed_usage) == (NOW, counter)
    assert due(done) is None


def test_an_older_completion_does_not_move_last_performed_back() -> None:
    program = make_program(last_performed=NOW)
    assert record_performance(program, make_aircraft(), completed_at=NOW - timedelta(days=1)) is program


@given(st.integers(min_value=1, max_value=365), st.integers(min_value=0, max_value=10**5))
def test_a_calendar_program_is_not_due_again_until_its_interval_after_completion(days: int, minutes: int) -> None:
    done = record_performance(make_program(interval_value=days), make_aircraft(), completed_at=NOW)
    later = NOW + timedelta(minutes=minutes)
    result = program_due(done, make_aircraft(), now=later, lead_time=LEAD)
    assert (result is not None) == (later >= NOW + timedelta(days=days))


# --- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval_type", "value", "valid"),
    [
        (CAL, 0, False),
        (CAL, 1, True),
        (CAL, MAX_CALENDAR_DAYS, True),
        (CAL, MAX_CALENDAR_DAYS + 1, False),
        (HOURS, -5, False),
        (HOURS, 10**6, True),
        (CYCLES, 2**31, False),
    ],
)
def test_an_interval_is_positive_and_bounded(interval_type: IntervalType, value: int, valid: bool) -> None:
    if valid:
        check_interval(interval_type, value)
    else:
        with pytest.raises(ValidationFailed):
            check_interval(interval_type, value)


@pytest.mark.parametrize(
    ("last_performed", "usage"),
    [(NOW + timedelta(seconds=1), None), (NOW.replace(tzinfo=None), None), (None, -1)],
    ids=["future", "naive", "negative-usage"],
)
def test_last_performed_is_past_and_aware_and_usage_non_negative(
    last_performed: datetime | None, usage: int | None
) -> None:
    with pytest.raises(ValidationFailed):
        check_last_performed(last_performed, usage, NOW)


def test_valid_last_performed_values_pass() -> None:
    check_last_performed(NOW, 0, NOW)
    check_last_performed(None, None, NOW)


def test_a_program_name_is_trimmed_and_required() -> None:
    assert normalized_name("  C-check ") == "C-check"
    with pytest.raises(ValidationFailed):
        normalized_name(" ")
