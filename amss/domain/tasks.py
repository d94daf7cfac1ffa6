"""Maintenance tasks: the entity, its state machine as a table of guards, and the rules for editing it.

The application layer gathers the facts (clock, actor, aircraft status, assigned mechanic,
the aircraft's other tasks, reservations, compliance items) into `TransitionFacts`; the
domain decides. Decisions where the specification is silent:
- A task starts from 5 minutes before start_time until end_time; past its window it is moved
  (PATCH) or cancelled.
- A mechanic starts and completes only tasks assigned to them; schedulers and admins any task
  (the table of amss/domain/assignment.py, shared with marking parts used and sign-off).
- An override covers early completion (scheduler or admin) and late cancellation (admin) only;
  asking for one elsewhere is a validation error, by a role that may not override Forbidden.
- Notes sent with a transition replace the task's notes; completion needs non-blank notes,
  sent or already on the task. A task without compliance items may complete.
- PATCH may change type, start_time, end_time, assigned_mechanic_id and notes of a scheduled
  task; of an in-progress task only end_time, notes and the mechanic (reassigned, never
  removed). aircraft_id and program_id never change: cancel and create a new task instead.
- Only scheduled and cancelled tasks may be deleted: in-progress work and completed records stay.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Final

from amss.domain.assignment import TaskWork, check_may_work
from amss.domain.compliance import ComplianceItem
from amss.domain.enums import AircraftStatus, ReservationState, Role, TaskState, TaskType
from amss.domain.errors import Conflict, Forbidden, InvalidTransition, ScheduleOverlap, ValidationFailed
from amss.domain.parts import PartReservation
from amss.domain.timestamps import check_timestamp, shift, utc_text
from amss.domain.users import User
from amss.domain.versioning import UNSET, Unset

START_GRACE: Final = timedelta(minutes=5)
CANCEL_WINDOW: Final = timedelta(hours=24)
ACTIVE_STATES: Final = frozenset({TaskState.SCHEDULED, TaskState.IN_PROGRESS})
FINAL_STATES: Final = frozenset({TaskState.COMPLETED, TaskState.CANCELLED})
# who plans: create, PATCH, cancel, override an early completion
PLANNER_ROLES: Final = frozenset({Role.ADMIN, Role.SCHEDULER})
CANCEL_OVERRIDE_ROLES: Final = frozenset({Role.ADMIN})


@dataclass(frozen=True)
class MaintenanceTask:
    id: uuid.UUID
    org_id: uuid.UUID
    aircraft_id: uuid.UUID
    type: TaskType
    state: TaskState
    start_time: datetime
    end_time: datetime
    version: int
    created_at: datetime
    updated_at: datetime
    program_id: uuid.UUID | None = None
    assigned_mechanic_id: uuid.UUID | None = None
    notes: str | None = None
    deleted_at: datetime | None = None

    @property
    def active(self) -> bool:
        """Takes part in the overlap rule, like the table's active_window."""
        return self.state in ACTIVE_STATES and self.deleted_at is None

    @property
    def confirmed(self) -> bool:
        """Scheduled with a mechanic assigned: what grounds an aircraft ahead of time."""
        return self.state is TaskState.SCHEDULED and self.assigned_mechanic_id is not None and self.deleted_at is None


def check_aware(name: str, value: datetime) -> None:
    """An accepted timestamp: with an offset, within amss.domain.timestamps' range."""
    check_timestamp(name, value)


def check_window(start_time: datetime, end_time: datetime) -> None:
    check_aware("start_time", start_time)
    check_aware("end_time", end_time)
    if end_time <= start_time:
        raise ValidationFailed.on_field("end_time", "must be after start_time")


def windows_overlap(start_a: datetime, end_a: datetime, start_b: datetime, end_b: datetime) -> bool:
    """Half-open windows [start, end), as tstzrange '[)': touching windows do not overlap."""
    return start_a < end_b and start_b < end_a


def overlapping_tasks(
    task_id: uuid.UUID | None,
    aircraft_id: uuid.UUID,
    start_time: datetime,
    end_time: datetime,
    others: Iterable[MaintenanceTask],
) -> tuple[MaintenanceTask, ...]:
    return tuple(
        other
        for other in others
        if other.id != task_id
        and other.aircraft_id == aircraft_id
        and other.active
        and windows_overlap(start_time, end_time, other.start_time, other.end_time)
    )


def check_no_overlap(
    task_id: uuid.UUID | None,
    aircraft_id: uuid.UUID,
    start_time: datetime,
    end_time: datetime,
    others: Iterable[MaintenanceTask],
) -> None:
    clashes = overlapping_tasks(task_id, aircraft_id, start_time, end_time, others)
    if clashes:
        first = min(clashes, key=lambda task: task.start_time)
        start, end = utc_text(first.start_time), utc_text(first.end_time)
        raise ScheduleOverlap(
            f"the window overlaps task {first.id} ({start} to {end}) of the same aircraft",
            {"conflicting_task_id": str(first.id), "start_time": start, "end_time": end},
        )


def mechanic_problem(org_id: uuid.UUID, mechanic_id: uuid.UUID | None, user: User | None) -> tuple[str, str] | None:
    """(rule, message) when the assignee is not a live mechanic of the organization, else None."""
    if mechanic_id is None:
        return "mechanic_missing", "no mechanic is assigned"
    if user is None or user.id != mechanic_id or user.org_id != org_id:
        return "mechanic_unknown", f"assigned mechanic {mechanic_id} does not exist in the organization"
    if user.deleted_at is not None:
        return "mechanic_deleted", f"assigned mechanic {mechanic_id} is deleted"
    if user.role is not Role.MECHANIC:
        return "mechanic_role", f"assigned user {mechanic_id} is a {user.role}, not a mechanic"
    return None


def check_assignable(org_id: uuid.UUID, mechanic_id: uuid.UUID, user: User | None) -> None:
    problem = mechanic_problem(org_id, mechanic_id, user)
    if problem is not None:
        raise ValidationFailed.on_field("assigned_mechanic_id", problem[1])


@dataclass(frozen=True)
class TransitionFacts:
    """Everything a transition's guard needs, gathered by the application layer."""

    task: MaintenanceTask
    now: datetime
    actor_role: Role
    actor_user_id: uuid.UUID
    aircraft_status: AircraftStatus
    override: bool = False
    # notes sent with the transition; they replace the task's
    notes: str | None = None
    # the user task.assigned_mechanic_id names, looked up in the task's organization
    assigned_mechanic: User | None = None
    # the aircraft's other tasks, for the overlap rule
    aircraft_tasks: tuple[MaintenanceTask, ...] = ()
    reservations: tuple[PartReservation, ...] = ()
    compliance_items: tuple[ComplianceItem, ...] = ()

    @property
    def effective_notes(self) -> str | None:
        return self.notes if self.notes is not None else self.task.notes


def _refuse(current: TaskState, target: TaskState, rule: str, message: str, **details: object) -> InvalidTransition:
    return InvalidTransition(
        f"task cannot go from {current} to {target}: {message}",
        {"current_state": current.value, "target_state": target.value, "rule": rule, **details},
    )


def _check_worker(work: TaskWork, facts: TransitionFacts) -> None:
    check_may_work(work, facts.actor_role, facts.actor_user_id, facts.task.assigned_mechanic_id)


def _guard_start(current: TaskState, target: TaskState, facts: TransitionFacts) -> None:
    _check_worker(TaskWork.START, facts)
    if facts.override:
        raise ValidationFailed.on_field("override", "starting a task takes no override")
    task, now = facts.task, facts.now
    opens = shift(task.start_time, -START_GRACE)
    if now < opens:
        raise _refuse(current, target, "too_early", f"it can start from {utc_text(opens)}, 5 minutes before start")
    if now >= task.end_time:
        raise _refuse(current, target, "window_passed", f"its window ended at {utc_text(task.end_time)}")
    if facts.aircraft_status is not AircraftStatus.GROUNDED:
        raise _refuse(
            current, target, "aircraft_not_grounded", f"the aircraft must be grounded (it is {facts.aircraft_status})"
        )
    problem = mechanic_problem(task.org_id, task.assigned_mechanic_id, facts.assigned_mechanic)
    if problem is not None:
        raise _refuse(current, target, *problem)
    check_no_overlap(task.id, task.aircraft_id, task.start_time, task.end_time, facts.aircraft_tasks)


def _guard_complete(current: TaskState, target: TaskState, facts: TransitionFacts) -> None:
    _check_worker(TaskWork.COMPLETE, facts)
    if facts.override and facts.actor_role not in PLANNER_ROLES:
        raise Forbidden("only a scheduler or an admin can override the end of a task")
    notes = facts.effective_notes
    if notes is None or not notes.strip():
        raise ValidationFailed.on_field("notes", "required to complete a task")
    task = facts.task
    if facts.now < task.end_time and not facts.override:
        raise _refuse(
            current,
            target,
            "before_end_time",
            f"it ends at {utc_text(task.end_time)}; earlier needs a scheduler's or admin's override",
        )
    reserved = [str(r.id) for r in facts.reservations if r.state is ReservationState.RESERVED]
    if reserved:
        raise _refuse(
            current,
            target,
            "reservations_open",
            f"reservations {', '.join(reserved)} are still reserved; mark them used or release them",
            reservation_ids=reserved,
        )
    unsigned = [str(item.id) for item in facts.compliance_items if item.deleted_at is None and not item.satisfied]
    if unsigned:
        raise _refuse(
            current,
            target,
            "compliance_open",
            f"compliance items {', '.join(unsigned)} are not signed off with pass or fail",
            compliance_item_ids=unsigned,
        )


def _guard_cancel(current: TaskState, target: TaskState, facts: TransitionFacts) -> None:
    if facts.actor_role not in PLANNER_ROLES:
        raise Forbidden("only a scheduler or an admin can cancel a task")
    if facts.override and facts.actor_role not in CANCEL_OVERRIDE_ROLES:
        raise Forbidden("only an admin can override the cancellation window")
    closes = shift(facts.task.start_time, CANCEL_WINDOW)
    if facts.now >= closes and not facts.override:
        raise _refuse(
            current,
            target,
            "cancel_window_passed",
            f"cancellation closed at {utc_text(closes)}, 24 hours after start; an admin can override",
        )


TaskGuard = Callable[[TaskState, TaskState, TransitionFacts], None]

TRANSITIONS: Final[Mapping[tuple[TaskState, TaskState], TaskGuard]] = MappingProxyType(
    {
        (TaskState.SCHEDULED, TaskState.IN_PROGRESS): _guard_start,
        (TaskState.IN_PROGRESS, TaskState.COMPLETED): _guard_complete,
        (TaskState.SCHEDULED, TaskState.CANCELLED): _guard_cancel,
        (TaskState.IN_PROGRESS, TaskState.CANCELLED): _guard_cancel,
    }
)


def check_transition(current: TaskState, target: TaskState, facts: TransitionFacts) -> None:
    guard = TRANSITIONS.get((current, target))
    if guard is None:
        if current in FINAL_STATES:
            raise _refuse(
                current,
                target,
                "final_state",
                f"{current} is final; a correction is a new task whose notes reference task {facts.task.id}",
            )
        allowed = ", ".join(to for (frm, to) in TRANSITIONS if frm is current)
        raise _refuse(current, target, "no_such_transition", f"from {current} a task goes only to {allowed}")
    guard(current, target, facts)


def apply_transition(target: TaskState, facts: TransitionFacts) -> MaintenanceTask:
    """facts.task in its new state, one version later. A cancel also calls parts.release_on_cancel."""
    task = facts.task
    check_transition(task.state, target, facts)
    return replace(
        task,
        state=target,
        notes=facts.effective_notes,
        version=task.version + 1,
        updated_at=facts.now,
    )


def check_new_task(
    *,
    org_id: uuid.UUID,
    start_time: datetime,
    end_time: datetime,
    actor_role: Role | None,
    assigned_mechanic_id: uuid.UUID | None = None,
    assigned_mechanic: User | None = None,
) -> None:
    """A new scheduled task; actor_role None is a job (the program generator).

    Its overlap with the aircraft's active tasks is decided as the row is inserted (the exclusion
    constraint, race-free); `check_no_overlap` explains a refusal by naming the task in the way."""
    if actor_role is not None and actor_role not in PLANNER_ROLES:
        raise Forbidden("only a scheduler can create tasks")
    check_window(start_time, end_time)
    if assigned_mechanic_id is not None:
        check_assignable(org_id, assigned_mechanic_id, assigned_mechanic)


@dataclass(frozen=True)
class TaskPatch:
    type: TaskType | Unset = UNSET
    start_time: datetime | Unset = UNSET
    end_time: datetime | Unset = UNSET
    assigned_mechanic_id: uuid.UUID | Unset | None = UNSET
    notes: str | Unset | None = UNSET


@dataclass(frozen=True)
class UpdateFacts:
    actor_role: Role
    # the aircraft's other tasks, for the overlap re-check
    aircraft_tasks: tuple[MaintenanceTask, ...] = ()
    # the user a new assigned_mechanic_id names, looked up in the task's organization
    assigned_mechanic: User | None = None


def _patched_values(task: MaintenanceTask, patch: TaskPatch) -> dict[str, object]:
    changes: dict[str, object] = {}
    if not isinstance(patch.type, Unset) and patch.type is not task.type:
        changes["type"] = patch.type
    for name, value, old in (
        ("start_time", patch.start_time, task.start_time),
        ("end_time", patch.end_time, task.end_time),
    ):
        if isinstance(value, datetime) and value != old:
            check_aware(name, value)
            changes[name] = value.astimezone(UTC)
    if not isinstance(patch.assigned_mechanic_id, Unset) and patch.assigned_mechanic_id != task.assigned_mechanic_id:
        changes["assigned_mechanic_id"] = patch.assigned_mechanic_id
    if not isinstance(patch.notes, Unset) and patch.notes != task.notes:
        changes["notes"] = patch.notes
    return changes


def check_task_update(task: MaintenanceTask, patch: TaskPatch, facts: UpdateFacts) -> dict[str, object]:
    """The validated changes (column -> value) of a PATCH; empty when it changes nothing.

    The repository applies them and bumps the version."""
    if facts.actor_role not in PLANNER_ROLES:
        raise Forbidden("only a scheduler can change a task")
    if task.state in FINAL_STATES:
        raise Conflict(
            f"a {task.state} task cannot change; a correction is a new task whose notes reference task {task.id}",
            {"current_state": task.state.value},
        )
    changes = _patched_values(task, patch)
    if task.state is TaskState.IN_PROGRESS:
        frozen = sorted({"type", "start_time"} & changes.keys())
        if frozen:
            raise Conflict(f"an in-progress task keeps its {' and '.join(frozen)}", {"current_state": task.state.value})
        if "assigned_mechanic_id" in changes and changes["assigned_mechanic_id"] is None:
            raise Conflict(
                "an in-progress task keeps a mechanic; reassign it instead", {"current_state": "in_progress"}
            )
    new_mechanic = changes.get("assigned_mechanic_id")
    if isinstance(new_mechanic, uuid.UUID):
        check_assignable(task.org_id, new_mechanic, facts.assigned_mechanic)
    if "start_time" in changes or "end_time" in changes:
        start = patch.start_time if isinstance(patch.start_time, datetime) else task.start_time
        end = patch.end_time if isinstance(patch.end_time, datetime) else task.end_time
        check_window(start, end)
        check_no_overlap(task.id, task.aircraft_id, start, end, facts.aircraft_tasks)
    return changes


def check_may_delete(task: MaintenanceTask, actor_role: Role) -> None:
    """A deleted scheduled task gives its reservations back, as a cancelled one does."""
    if actor_role not in PLANNER_ROLES:
        raise Forbidden("only a scheduler can delete a task")
    if task.state in (TaskState.IN_PROGRESS, TaskState.COMPLETED):
        raise Conflict(f"a {task.state} task cannot be deleted", {"current_state": task.state.value})
