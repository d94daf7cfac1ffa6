"""Aircraft: the entity, its status machine (explicit and automatic), the grounding rules, usage counters.

Status changes come from two sources. Explicitly, PATCH by a scheduler, mechanic or admin.
Automatically (facts.actor_role None), by the system when tasks change: an operational
aircraft is grounded when a confirmed task (scheduled, mechanic assigned) starts within the
lead time; a grounded aircraft returns to operational when one of its tasks completes or is
cancelled (or a scheduled one is deleted) and nothing in progress or confirmed within the lead
time remains. Decisions where the specification is silent:
- Every grounding records who made it (`grounded_by`): `task` when the system grounded the
  aircraft for a task, `manual` when a person did (PATCH, or created grounded). The automatic
  release undoes only a `task` grounding: a person's grounding (a defect, say) stays until a
  person releases it. A person setting `grounded` on an aircraft a task grounded takes the
  grounding over (it becomes `manual`), so it outlives the task.
- `maintenance` is an explicit out-of-service status for work outside the task workflow; the
  automatic rules never enter or leave it, and tasks start only on a grounded aircraft.
- No aircraft leaves grounded or maintenance for operational while a task is in progress.
- A confirmed task whose window has ended without starting no longer holds the aircraft.
- Setting the status an aircraft already has is not a transition; the caller skips it.
- An aircraft with scheduled or in-progress tasks cannot be deleted.
- Usage ingestion adds non-negative whole flight hours and cycles; totals stay within int32.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Final

from amss.domain.enums import AircraftStatus, GroundingOrigin, Role, TaskState
from amss.domain.errors import Conflict, Forbidden, InvalidTransition, ValidationFailed
from amss.domain.tasks import MaintenanceTask
from amss.domain.timestamps import check_timestamp, shift

STATUS_ROLES: Final = frozenset({Role.ADMIN, Role.SCHEDULER, Role.MECHANIC})
MAX_COUNTER: Final = 2**31 - 1


@dataclass(frozen=True)
class Aircraft:
    id: uuid.UUID
    org_id: uuid.UUID
    tail_number: str
    model: str
    status: AircraftStatus
    capacity_slots: int
    flight_hours_total: int
    cycles_total: int
    version: int
    created_at: datetime
    updated_at: datetime
    last_maintenance: datetime | None = None
    next_due: datetime | None = None
    deleted_at: datetime | None = None
    # set exactly while grounded: who grounded it
    grounded_by: GroundingOrigin | None = None


def grounding_origin(status: AircraftStatus, *, automatic: bool) -> GroundingOrigin | None:
    """What `grounded_by` becomes with this status, set by the grounding rules or by a person."""
    if status is not AircraftStatus.GROUNDED:
        return None
    return GroundingOrigin.TASK if automatic else GroundingOrigin.MANUAL


def in_progress_task(tasks: Iterable[MaintenanceTask]) -> MaintenanceTask | None:
    return next((t for t in tasks if t.state is TaskState.IN_PROGRESS and t.deleted_at is None), None)


def confirmed_task_within(
    tasks: Iterable[MaintenanceTask], now: datetime, lead_time: timedelta
) -> MaintenanceTask | None:
    """The earliest confirmed task starting by now + lead_time whose window has not ended."""
    near = [t for t in tasks if t.confirmed and t.start_time <= shift(now, lead_time) and t.end_time > now]
    return min(near, key=lambda t: t.start_time, default=None)


def should_auto_ground(
    status: AircraftStatus, tasks: Iterable[MaintenanceTask], now: datetime, lead_time: timedelta
) -> bool:
    return status is AircraftStatus.OPERATIONAL and confirmed_task_within(tasks, now, lead_time) is not None


def should_auto_release(
    status: AircraftStatus,
    tasks: Iterable[MaintenanceTask],
    now: datetime,
    lead_time: timedelta,
    grounded_by: GroundingOrigin | None,
) -> bool:
    """A grounding the system made for a task, and nothing left that holds the aircraft."""
    listed = tuple(tasks)
    return (
        status is AircraftStatus.GROUNDED
        and grounded_by is GroundingOrigin.TASK
        and in_progress_task(listed) is None
        and confirmed_task_within(listed, now, lead_time) is None
    )


def automatic_status(
    status: AircraftStatus,
    tasks: Iterable[MaintenanceTask],
    now: datetime,
    lead_time: timedelta,
    *,
    task_finished: bool,
    grounded_by: GroundingOrigin | None,
) -> AircraftStatus | None:
    """The status the grounding rules move the aircraft to, or None to leave it.

    `tasks` are the aircraft's tasks after the change; `task_finished` says the change was a
    task completing or being cancelled, the only moment an aircraft is released (and only from
    a grounding a task made)."""
    listed = tuple(tasks)
    if should_auto_ground(status, listed, now, lead_time):
        return AircraftStatus.GROUNDED
    if task_finished and should_auto_release(status, listed, now, lead_time, grounded_by):
        return AircraftStatus.OPERATIONAL
    return None


@dataclass(frozen=True)
class StatusFacts:
    now: datetime
    lead_time: timedelta
    # None: the system applying the grounding rules
    actor_role: Role | None = None
    # the aircraft's tasks, as they are after the change that prompted the check
    tasks: tuple[MaintenanceTask, ...] = ()
    # the aircraft's grounded_by: the system releases only a grounding it made for a task
    grounded_by: GroundingOrigin | None = None


def _refuse(current: AircraftStatus, target: AircraftStatus, rule: str, message: str) -> InvalidTransition:
    return InvalidTransition(
        f"aircraft cannot go from {current} to {target}: {message}",
        {"current_state": current.value, "target_state": target.value, "rule": rule},
    )


def _check_explicit(facts: StatusFacts) -> None:
    if facts.actor_role not in STATUS_ROLES:
        raise Forbidden("only a scheduler, a mechanic or an admin can change an aircraft's status")


def _no_task_in_progress(current: AircraftStatus, target: AircraftStatus, facts: StatusFacts) -> None:
    task = in_progress_task(facts.tasks)
    if task is not None:
        raise _refuse(current, target, "task_in_progress", f"task {task.id} is in progress")


def _guard_ground(current: AircraftStatus, target: AircraftStatus, facts: StatusFacts) -> None:
    if facts.actor_role is not None:
        _check_explicit(facts)
    elif not should_auto_ground(current, facts.tasks, facts.now, facts.lead_time):
        raise _refuse(current, target, "no_confirmed_task", "no confirmed task starts within the lead time")


def _guard_release(current: AircraftStatus, target: AircraftStatus, facts: StatusFacts) -> None:
    if facts.actor_role is not None:
        _check_explicit(facts)
        _no_task_in_progress(current, target, facts)
        return
    if facts.grounded_by is not GroundingOrigin.TASK:
        raise _refuse(current, target, "manual_grounding", "a person grounded it; only a person releases it")
    _no_task_in_progress(current, target, facts)
    task = confirmed_task_within(facts.tasks, facts.now, facts.lead_time)
    if task is not None:
        raise _refuse(current, target, "confirmed_task_near", f"confirmed task {task.id} starts within the lead time")


def _guard_explicit(current: AircraftStatus, target: AircraftStatus, facts: StatusFacts) -> None:
    if facts.actor_role is None:
        raise _refuse(current, target, "explicit_only", "maintenance is set and cleared only explicitly")
    _check_explicit(facts)


def _guard_explicit_release(current: AircraftStatus, target: AircraftStatus, facts: StatusFacts) -> None:
    _guard_explicit(current, target, facts)
    _no_task_in_progress(current, target, facts)


StatusGuard = Callable[[AircraftStatus, AircraftStatus, StatusFacts], None]

_OP, _GR, _MT = AircraftStatus.OPERATIONAL, AircraftStatus.GROUNDED, AircraftStatus.MAINTENANCE

TRANSITIONS: Final[Mapping[tuple[AircraftStatus, AircraftStatus], StatusGuard]] = MappingProxyType(
    {
        (_OP, _GR): _guard_ground,
        (_GR, _OP): _guard_release,
        (_OP, _MT): _guard_explicit,
        (_GR, _MT): _guard_explicit,
        (_MT, _GR): _guard_explicit,
        (_MT, _OP): _guard_explicit_release,
    }
)


def check_transition(current: AircraftStatus, target: AircraftStatus, facts: StatusFacts) -> None:
    guard = TRANSITIONS.get((current, target))
    if guard is None:
        raise _refuse(current, target, "no_such_transition", f"the aircraft is already {current}")
    guard(current, target, facts)


def apply_status(aircraft: Aircraft, target: AircraftStatus, facts: StatusFacts) -> Aircraft:
    check_transition(aircraft.status, target, facts)
    return replace(
        aircraft,
        status=target,
        grounded_by=grounding_origin(target, automatic=facts.actor_role is None),
        version=aircraft.version + 1,
        updated_at=facts.now,
    )


def normalized_tail_number(tail_number: str) -> str:
    text = tail_number.strip()
    if not text:
        raise ValidationFailed.on_field("tail_number", "required")
    return text


def normalized_model(model: str) -> str:
    text = model.strip()
    if not text:
        raise ValidationFailed.on_field("model", "required")
    return text


def check_capacity_slots(capacity_slots: int) -> None:
    if not 0 < capacity_slots <= MAX_COUNTER:
        raise ValidationFailed.on_field("capacity_slots", "must be greater than 0")


def check_maintenance_dates(last_maintenance: datetime | None, next_due: datetime | None) -> None:
    for name, value in (("last_maintenance", last_maintenance), ("next_due", next_due)):
        if value is not None:
            check_timestamp(name, value)
    if last_maintenance is not None and next_due is not None and next_due <= last_maintenance:
        raise ValidationFailed.on_field("next_due", "must be after last_maintenance")


def check_may_delete(tasks: Iterable[MaintenanceTask]) -> None:
    active = [str(task.id) for task in tasks if task.active]
    if active:
        raise Conflict(
            f"the aircraft has scheduled or in-progress tasks ({', '.join(active)}); cancel them first",
            {"task_ids": active},
        )


def check_usage_values(*, flight_hours: int, cycles: int) -> None:
    """Ingested usage on its own, before any aircraft is read: whole, non-negative, within int32."""
    for name, value in (("flight_hours", flight_hours), ("cycles", cycles)):
        if value < 0:
            raise ValidationFailed.on_field(name, "must not be negative")
        if value > MAX_COUNTER:
            raise ValidationFailed.on_field(name, f"must be at most {MAX_COUNTER}")


def record_usage(aircraft: Aircraft, *, flight_hours: int, cycles: int, now: datetime) -> Aircraft:
    """The aircraft with ingested usage added to its counters; unchanged when both are 0."""
    check_usage_values(flight_hours=flight_hours, cycles=cycles)
    for name, value, total in (
        ("flight_hours", flight_hours, aircraft.flight_hours_total),
        ("cycles", cycles, aircraft.cycles_total),
    ):
        if total + value > MAX_COUNTER:
            raise ValidationFailed.on_field(name, f"would take the total past {MAX_COUNTER}")
    if flight_hours == 0 and cycles == 0:
        return aircraft
    return replace(
        aircraft,
        flight_hours_total=aircraft.flight_hours_total + flight_hours,
        cycles_total=aircraft.cycles_total + cycles,
        version=aircraft.version + 1,
        updated_at=now,
    )
