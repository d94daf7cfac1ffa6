"""Maintenance programs: when a program is due for a new task, and what completing its task records.

Calendar programs count days. With no last_performed the first task is due at the aircraft's
next_due, or at now + lead time; afterwards a task is due once now reaches last_performed +
interval days. Flight-hour and cycle programs compare the aircraft's counter with the counter
recorded when the program was last performed. Decisions where the specification is silent:
- "Beyond" is at or after: a program is due at the very instant its interval runs out.
- An overdue program (or a next_due already past) is scheduled at now + lead time, never in
  the past, so the new task can still be started and the aircraft grounded in time.
- A usage program with no last_performed_usage counts from 0: the aircraft's whole counter.
- Templates (no aircraft) are never due; neither is a program that already has a scheduled or
  in-progress task, so the generator never doubles up.
- Completion moves last_performed forward only; usage programs also record the counter then.
- interval_value: calendar at most 36,500 days, usage within int32; last_performed not in the
  future; last_performed_usage non-negative.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

from amss.domain.aircraft import MAX_COUNTER, Aircraft
from amss.domain.enums import IntervalType
from amss.domain.errors import ValidationFailed
from amss.domain.tasks import MaintenanceTask
from amss.domain.timestamps import check_timestamp, shift

MAX_CALENDAR_DAYS: Final = 36_500
USAGE_TYPES: Final = frozenset({IntervalType.FLIGHT_HOURS, IntervalType.CYCLES})


@dataclass(frozen=True)
class MaintenanceProgram:
    id: uuid.UUID
    org_id: uuid.UUID
    name: str
    interval_type: IntervalType
    interval_value: int
    version: int
    created_at: datetime
    updated_at: datetime
    # None: a template, not attached to an aircraft
    aircraft_id: uuid.UUID | None = None
    last_performed: datetime | None = None
    # the aircraft's counter (flight hours or cycles) when the program was last performed
    last_performed_usage: int | None = None
    deleted_at: datetime | None = None

    @property
    def is_template(self) -> bool:
        return self.aircraft_id is None


@dataclass(frozen=True)
class Due:
    """When the new task is due; usage programs also say at which counter it fell due and the counter now."""

    due_at: datetime
    due_usage: int | None = None
    usage: int | None = None


def usage_counter(interval_type: IntervalType, aircraft: Aircraft) -> int | None:
    if interval_type is IntervalType.FLIGHT_HOURS:
        return aircraft.flight_hours_total
    if interval_type is IntervalType.CYCLES:
        return aircraft.cycles_total
    return None


def calendar_due_date(program: MaintenanceProgram) -> datetime | None:
    """last_performed + interval days, for a calendar program performed before."""
    if program.interval_type is not IntervalType.CALENDAR or program.last_performed is None:
        return None
    return shift(program.last_performed, timedelta(days=program.interval_value))


def program_due(
    program: MaintenanceProgram,
    aircraft: Aircraft | None,
    *,
    now: datetime,
    lead_time: timedelta,
    program_tasks: Iterable[MaintenanceTask] = (),
) -> Due | None:
    """The next task's due time if the program is due for one now, else None."""
    if program.deleted_at is not None or program.is_template or aircraft is None or aircraft.deleted_at is not None:
        return None
    if any(task.active for task in program_tasks):
        return None
    earliest = shift(now, lead_time)
    if program.interval_type is IntervalType.CALENDAR:
        if program.last_performed is None:
            first = aircraft.next_due
            return Due(first if first is not None and first > now else earliest)
        boundary = calendar_due_date(program)
        return Due(earliest) if boundary is not None and now >= boundary else None
    counter = usage_counter(program.interval_type, aircraft)
    if counter is None:
        return None
    due_usage = (program.last_performed_usage or 0) + program.interval_value
    if counter < due_usage:
        return None
    return Due(earliest, due_usage=due_usage, usage=counter)


def record_performance(
    program: MaintenanceProgram, aircraft: Aircraft | None, *, completed_at: datetime
) -> MaintenanceProgram:
    """The program after one of its tasks completed at completed_at, one version later."""
    if program.last_performed is not None and completed_at <= program.last_performed:
        return program
    usage = program.last_performed_usage
    if program.interval_type in USAGE_TYPES and aircraft is not None:
        usage = usage_counter(program.interval_type, aircraft)
    return replace(
        program,
        last_performed=completed_at,
        last_performed_usage=usage,
        version=program.version + 1,
        updated_at=completed_at,
    )


def normalized_name(name: str) -> str:
    text = name.strip()
    if not text:
        raise ValidationFailed.on_field("name", "required")
    return text


def check_interval(interval_type: IntervalType, interval_value: int) -> None:
    limit = MAX_CALENDAR_DAYS if interval_type is IntervalType.CALENDAR else MAX_COUNTER
    if not 0 < interval_value <= limit:
        raise ValidationFailed.on_field("interval_value", f"must be between 1 and {limit}")


def check_last_performed(last_performed: datetime | None, last_performed_usage: int | None, now: datetime) -> None:
    if last_performed is not None:
        check_timestamp("last_performed", last_performed)
        if last_performed > now:
            raise ValidationFailed.on_field("last_performed", "must not be in the future")
    if last_performed_usage is not None and not 0 <= last_performed_usage <= MAX_COUNTER:
        raise ValidationFailed.on_field("last_performed_usage", "must not be negative")
