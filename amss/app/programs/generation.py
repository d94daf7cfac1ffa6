"""Generating a program's next task: the `program.generate_task` command the aircraft's actor runs.

The program generator job (amss/jobs/maintenance_jobs.py) finds candidate programs and submits
one command per due program, on the actor `aircraft:{org_id}:{aircraft_id}`. The handler decides
again, inside the actor and its transaction, with the program row locked: still due, no active
task of the program, no event for this due date yet. It then creates the task through
TaskService.create (audit row with `details.actor {job}`, `task_created`) and records
`program_task_generated` in the same transaction.

Decisions:
- The task is an `inspection`, unassigned, DEFAULT_DURATION (4 h) long, starting at the due time
  the domain rule gives (amss/domain/programs.py: now + lead time when overdue).
- A window that would overlap an active task of the aircraft is moved to start when the blocking
  task ends, at most MAX_STAGGER times; if it still overlaps, the command fails with
  SCHEDULE_OVERLAP like any other create — logged by the job and retried at its next run.
- The dedupe key is `program_task_generated:{org_id}:{program_id}:{due_date}` where due_date is a
  value stable across reruns: a calendar program's last_performed + interval (UTC), for a first
  calendar task the aircraft's next_due (or `first`), for a usage program `{interval_type}-{counter}`
  at which it fell due. Once an event for a due date exists the program is not generated again for
  it (even if that task was cancelled: a planner schedules the replacement).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

from amss.app.ports import Clock, UnitOfWorkFactory
from amss.app.tasks.ports import NewTask
from amss.app.tasks.service import TaskDetail, TaskService
from amss.app.views import utc_text
from amss.domain.aircraft import Aircraft
from amss.domain.enums import IntervalType, TaskType
from amss.domain.errors import NotFound
from amss.domain.events import DomainEvent, dedupe_key
from amss.domain.principal import Actor
from amss.domain.programs import Due, MaintenanceProgram, calendar_due_date, program_due
from amss.domain.tasks import MaintenanceTask
from amss.domain.timestamps import shift

GENERATED_EVENT: Final = "program_task_generated"
GENERATOR_JOB: Final = "program-generator"
DEFAULT_DURATION: Final = timedelta(hours=4)
MAX_STAGGER: Final = 20


def due_date_key(program: MaintenanceProgram, aircraft: Aircraft, due: Due) -> str:
    """The stable part of the dedupe key: which due date this generation is for."""
    if program.interval_type is IntervalType.CALENDAR:
        boundary = calendar_due_date(program)
        if boundary is not None:
            return utc_text(boundary) or "first"
        return utc_text(aircraft.next_due) or "first"
    return f"{program.interval_type.value}-{due.due_usage}"


def generated_key(org_id: uuid.UUID, program_id: uuid.UUID, due_date: str) -> str:
    return dedupe_key(GENERATED_EVENT, org_id, program_id, due_date)


def free_window(start: datetime, duration: timedelta, tasks: Iterable[MaintenanceTask]) -> tuple[datetime, datetime]:
    """The first window of `duration` from `start` that no active task overlaps, trying MAX_STAGGER moves."""
    active = sorted((task for task in tasks if task.active), key=lambda task: task.start_time)
    end = shift(start, duration)
    for _ in range(MAX_STAGGER):
        blocking = [task for task in active if task.start_time < end and start < task.end_time]
        if not blocking:
            break
        start = max(task.end_time for task in blocking)
        end = shift(start, duration)
    return start, end


def generated_event(
    program: MaintenanceProgram, task: MaintenanceTask, due_date: str, due: Due, at: datetime
) -> DomainEvent:
    return DomainEvent(
        event_type=GENERATED_EVENT,
        org_id=program.org_id,
        aggregate_type="maintenance_program",
        aggregate_id=program.id,
        occurred_at=at,
        dedupe_key=generated_key(program.org_id, program.id, due_date),
        data={
            "program_id": str(program.id),
            "task_id": str(task.id),
            "aircraft_id": str(task.aircraft_id),
            "interval_type": program.interval_type.value,
            "due_date": due_date,
            "due_at": utc_text(due.due_at),
            "due_usage": due.due_usage,
            "start_time": utc_text(task.start_time),
            "end_time": utc_text(task.end_time),
            "generated_at": utc_text(at),
        },
    )


class ProgramTaskGenerator:
    """Runs inside the aircraft's actor over the command's unit of work."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, lead_time: timedelta, tasks: TaskService) -> None:
        self._uow = uow
        self._clock = clock
        self._lead_time = lead_time
        self._tasks = tasks

    async def generate(self, actor: Actor, org_id: uuid.UUID, program_id: uuid.UUID) -> TaskDetail | None:
        """The generated task, or None when the program is not (or no longer) due."""
        async with self._uow() as uow:
            program = await uow.programs.get(org_id, program_id, for_update=True)
            if program is None:
                raise NotFound("maintenance program not found")
            if program.aircraft_id is None:
                return None
            aircraft = await uow.aircraft.get(org_id, program.aircraft_id)
            if aircraft is None:
                return None
            active = await uow.aircraft.active_tasks(org_id, aircraft.id)
            now = self._clock()
            due = program_due(
                program,
                aircraft,
                now=now,
                lead_time=self._lead_time,
                program_tasks=[task for task in active if task.program_id == program.id],
            )
            if due is None:
                return None
            due_date = due_date_key(program, aircraft, due)
            if await uow.programs.event_recorded(org_id, generated_key(org_id, program.id, due_date)):
                return None
            start, end = free_window(due.due_at, DEFAULT_DURATION, active)
            notes = f"generated by maintenance program {program.name!r} (due {due_date})"
            detail = await self._tasks.create(
                actor,
                org_id,
                NewTask(
                    aircraft_id=aircraft.id,
                    type=TaskType.INSPECTION,
                    start_time=start,
                    end_time=end,
                    program_id=program.id,
                    notes=notes,
                ),
            )
            await uow.outbox.add(generated_event(program, detail.task, due_date, due, now))
            await uow.commit()
        return detail
