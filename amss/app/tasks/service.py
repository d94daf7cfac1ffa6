"""Maintenance-task use cases: create, read (with reservations and compliance items), list, PATCH,
state transitions and soft delete.

Every mutation writes the task (its version grows by one), exactly one audit row for it and its
outbox event (`task_created`, `task_state_changed`) in one unit of work. All writes run inside
the aircraft's actor (amss/app/tasks/handlers.py), whose unit of work is bound to the
command's transaction, so the effects of a transition share it too: a cancel or delete releases
the task's reservations, a completion records the program's performance, and a completed or
cancelled task lets the grounding rules release the aircraft (AircraftService.apply_grounding_rules).

A new task's overlap is decided by the exclusion constraint as the row goes in, race-free and in
the same round trip (the repository's insert names it as its ON CONFLICT arbiter and only inserts
for a live aircraft of the organization); a refusal is explained by the domain's
`check_no_overlap` over the tasks in the way, so the 409 names the conflicting task either way. A
PATCH that moves the window is pre-checked here against the aircraft's active tasks and backed by
the same constraint.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from amss.app.aircraft.service import AircraftService
from amss.app.paging import Page, PageRequest
from amss.app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from amss.app.tasks.ports import NewTask, TaskFilter
from amss.app.views import json_value, utc_text
from amss.domain.audit import audit_entry
from amss.domain.compliance import ComplianceItem
from amss.domain.enums import AuditAction, Role, TaskState
from amss.domain.errors import Forbidden, NotFound, ValidationFailed
from amss.domain.events import DomainEvent, dedupe_key
from amss.domain.parts import PartReservation
from amss.domain.principal import Actor
from amss.domain.programs import record_performance
from amss.domain.tasks import (
    FINAL_STATES,
    MaintenanceTask,
    TaskPatch,
    TransitionFacts,
    UpdateFacts,
    apply_transition,
    check_may_delete,
    check_new_task,
    check_task_update,
    check_window,
)
from amss.domain.versioning import check_expected_version

ENTITY: Final = "maintenance_task"
AGGREGATE: Final = "task"
CREATED_EVENT: Final = "task_created"
STATE_EVENT: Final = "task_state_changed"


@dataclass(frozen=True)
class TaskDetail:
    """A task as `GET /maintenance-tasks/{id}` shows it: with its reservations and compliance items."""

    task: MaintenanceTask
    reservations: tuple[PartReservation, ...] = ()
    compliance_items: tuple[ComplianceItem, ...] = ()


def checked_new(new: NewTask) -> NewTask:
    check_window(new.start_time, new.end_time)
    return NewTask(
        aircraft_id=new.aircraft_id,
        type=new.type,
        start_time=new.start_time.astimezone(UTC),
        end_time=new.end_time.astimezone(UTC),
        program_id=new.program_id,
        assigned_mechanic_id=new.assigned_mechanic_id,
        notes=new.notes,
    )


def created_event(task: MaintenanceTask) -> DomainEvent:
    return DomainEvent(
        event_type=CREATED_EVENT,
        org_id=task.org_id,
        aggregate_type=AGGREGATE,
        aggregate_id=task.id,
        occurred_at=task.created_at,
        dedupe_key=dedupe_key(CREATED_EVENT, task.org_id, task.id),
        data={
            "aircraft_id": str(task.aircraft_id),
            "program_id": str(task.program_id) if task.program_id else None,
            "type": task.type.value,
            "state": task.state.value,
            "start_time": utc_text(task.start_time),
            "end_time": utc_text(task.end_time),
            "assigned_mechanic_id": str(task.assigned_mechanic_id) if task.assigned_mechanic_id else None,
            "version": task.version,
            "created_at": utc_text(task.created_at),
        },
    )


def state_changed_event(before: MaintenanceTask, after: MaintenanceTask) -> DomainEvent:
    return DomainEvent(
        event_type=STATE_EVENT,
        org_id=after.org_id,
        aggregate_type=AGGREGATE,
        aggregate_id=after.id,
        occurred_at=after.updated_at,
        dedupe_key=dedupe_key(STATE_EVENT, after.org_id, after.id, after.state.value, after.version),
        data={
            "aircraft_id": str(after.aircraft_id),
            "from": before.state.value,
            "to": after.state.value,
            "version": after.version,
            "updated_at": utc_text(after.updated_at),
        },
    )


def _role(actor: Actor) -> Role:
    if actor.principal is None:
        raise Forbidden("this task change needs a user")
    return actor.principal.role


def _changes_detail(before: MaintenanceTask, after: MaintenanceTask, fields: list[str]) -> dict[str, Any]:
    return {
        name: {"from": json_value(getattr(before, name)), "to": json_value(getattr(after, name))} for name in fields
    }


class TaskService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, aircraft: AircraftService) -> None:
        self._uow = uow
        self._clock = clock
        self._aircraft = aircraft

    async def create(self, actor: Actor, org_id: uuid.UUID, new: NewTask) -> TaskDetail:
        new = checked_new(new)
        # a job (the program generator) creates tasks too: no role, audited as details.actor {job}
        role = None if actor.principal is None and actor.job is not None else _role(actor)
        async with self._uow() as uow:
            if new.program_id is not None:
                program = await uow.tasks.program(org_id, new.program_id)
                if program is None or program.deleted_at is not None:
                    raise ValidationFailed.on_field("program_id", "does not exist in this organization")
                if program.aircraft_id is not None and program.aircraft_id != new.aircraft_id:
                    raise ValidationFailed.on_field("program_id", "belongs to another aircraft")
            mechanic = None
            if new.assigned_mechanic_id is not None:
                mechanic = await uow.tasks.assignee(org_id, new.assigned_mechanic_id)
            check_new_task(
                org_id=org_id,
                start_time=new.start_time,
                end_time=new.end_time,
                actor_role=role,
                assigned_mechanic_id=new.assigned_mechanic_id,
                assigned_mechanic=mechanic,
            )
            task = await uow.tasks.add(org_id, new)
            if task is None:
                raise ValidationFailed.on_field("aircraft_id", "does not exist in this organization")
            details = {
                name: json_value(getattr(task, name))
                for name in ("aircraft_id", "program_id", "type", "start_time", "end_time", "assigned_mechanic_id")
            }
            if task.notes is not None:
                details["notes"] = task.notes
            await uow.audit.add(audit_entry(actor, org_id, ENTITY, task.id, AuditAction.CREATE, task.version, details))
            await uow.outbox.add(created_event(task))
            await uow.commit()
        return TaskDetail(task)

    async def get(self, org_id: uuid.UUID, task_id: uuid.UUID) -> TaskDetail:
        async with self._uow() as uow:
            task = await uow.tasks.get(org_id, task_id)
            if task is None:
                raise NotFound("maintenance task not found")
            return await _detail(uow, task)

    async def aircraft_of(self, org_id: uuid.UUID, task_id: uuid.UUID) -> uuid.UUID:
        """The aircraft whose actor runs this task's commands (a task never changes aircraft)."""
        async with self._uow() as uow:
            task = await uow.tasks.get(org_id, task_id)
        if task is None:
            raise NotFound("maintenance task not found")
        return task.aircraft_id

    async def list_page(self, org_id: uuid.UUID, page: PageRequest, task_filter: TaskFilter) -> Page[MaintenanceTask]:
        async with self._uow() as uow:
            return await uow.tasks.list_page(org_id, page, task_filter)

    async def update(
        self,
        actor: Actor,
        org_id: uuid.UUID,
        task_id: uuid.UUID,
        patch: TaskPatch,
        expected_version: int | None,
    ) -> TaskDetail:
        """Change non-state fields; a window change re-checks overlap."""
        role = _role(actor)
        async with self._uow() as uow:
            current = await _locked(uow, org_id, task_id)
            check_expected_version(current.version, expected_version)
            mechanic = None
            if isinstance(patch.assigned_mechanic_id, uuid.UUID):
                mechanic = await uow.tasks.assignee(org_id, patch.assigned_mechanic_id)
            others = tuple(await uow.aircraft.active_tasks(org_id, current.aircraft_id))
            changes = check_task_update(current, patch, UpdateFacts(role, others, mechanic))
            if not changes:
                return await _detail(uow, current)
            updated = await uow.tasks.update(current, changes)
            details = {"changes": _changes_detail(current, updated, sorted(changes))}
            await uow.audit.add(
                audit_entry(actor, org_id, ENTITY, updated.id, AuditAction.UPDATE, updated.version, details)
            )
            detail = await _detail(uow, updated)
            await uow.commit()
        return detail

    async def transition(
        self,
        actor: Actor,
        org_id: uuid.UUID,
        task_id: uuid.UUID,
        target: TaskState,
        *,
        notes: str | None = None,
        override: bool = False,
    ) -> TaskDetail:
        """Move the task along its state machine (amss/domain/tasks.py TRANSITIONS) with every effect."""
        if actor.principal is None:
            raise Forbidden("a task transition needs a user")
        principal = actor.principal
        now = self._clock()
        async with self._uow() as uow:
            current = await _locked(uow, org_id, task_id)
            aircraft = await uow.aircraft.get(org_id, current.aircraft_id)
            if aircraft is None:
                raise NotFound("the task's aircraft is gone")
            mechanic = None
            if current.assigned_mechanic_id is not None:
                mechanic = await uow.tasks.assignee(org_id, current.assigned_mechanic_id)
            reservations = tuple(await uow.tasks.reservations(org_id, task_id))
            compliance_items = tuple(await uow.compliance_items.for_task(org_id, task_id))
            facts = TransitionFacts(
                task=current,
                now=now,
                actor_role=principal.role,
                actor_user_id=principal.user_id,
                aircraft_status=aircraft.status,
                override=override,
                notes=notes,
                assigned_mechanic=mechanic,
                aircraft_tasks=tuple(await uow.aircraft.active_tasks(org_id, current.aircraft_id)),
                reservations=reservations,
                compliance_items=compliance_items,
            )
            moved = apply_transition(target, facts)
            changes: dict[str, object] = {"state": target}
            if moved.notes != current.notes:
                changes["notes"] = moved.notes
            updated = await uow.tasks.update(current, changes)
            details: dict[str, Any] = {"changes": _changes_detail(current, updated, sorted(changes))}
            if override:
                details["override"] = True
            if target is TaskState.CANCELLED:
                released = await uow.tasks.release_reservations(org_id, task_id, now)
                details["released_reservation_ids"] = [str(reservation_id) for reservation_id in released]
            if target is TaskState.COMPLETED and current.program_id is not None:
                details["program"] = await _record_program(
                    uow, actor, org_id, current, aircraft_id=aircraft.id, now=now
                )
            await uow.audit.add(
                audit_entry(actor, org_id, ENTITY, updated.id, AuditAction.STATE_CHANGE, updated.version, details)
            )
            await uow.outbox.add(state_changed_event(current, updated))
            await uow.commit()
        if target in FINAL_STATES:
            await self._aircraft.apply_grounding_rules(actor, org_id, updated.aircraft_id, task_finished=True)
        return await self._detail_now(org_id, updated)

    async def delete(self, actor: Actor, org_id: uuid.UUID, task_id: uuid.UUID, expected_version: int | None) -> None:
        """Soft delete (scheduled or cancelled tasks); a scheduled one gives its reservations back."""
        role = _role(actor)
        now = self._clock()
        async with self._uow() as uow:
            current = await _locked(uow, org_id, task_id)
            check_expected_version(current.version, expected_version)
            check_may_delete(current, role)
            deleted = await uow.tasks.soft_delete(current, now)
            released = await uow.tasks.release_reservations(org_id, task_id, now)
            details = {
                "state": current.state.value,
                "released_reservation_ids": [str(reservation_id) for reservation_id in released],
            }
            await uow.audit.add(
                audit_entry(actor, org_id, ENTITY, deleted.id, AuditAction.DELETE, deleted.version, details)
            )
            await uow.commit()
        if current.state is TaskState.SCHEDULED:
            await self._aircraft.apply_grounding_rules(actor, org_id, current.aircraft_id, task_finished=True)

    async def _detail_now(self, org_id: uuid.UUID, task: MaintenanceTask) -> TaskDetail:
        async with self._uow() as uow:
            return await _detail(uow, task)


async def _record_program(
    uow: UnitOfWork,
    actor: Actor,
    org_id: uuid.UUID,
    task: MaintenanceTask,
    *,
    aircraft_id: uuid.UUID,
    now: datetime,
) -> dict[str, Any] | None:
    """Completion of a program's task: the program's last_performed (and usage counter) move forward."""
    assert task.program_id is not None
    program = await uow.tasks.program(org_id, task.program_id, for_update=True)
    if program is None or program.deleted_at is not None:
        return None
    aircraft = await uow.aircraft.get(org_id, aircraft_id)
    performed = record_performance(program, aircraft, completed_at=now)
    if performed is program:
        return None
    saved = await uow.tasks.record_program(program, performed)
    changes = {
        "last_performed": {"from": utc_text(program.last_performed), "to": utc_text(saved.last_performed)},
        "last_performed_usage": {"from": program.last_performed_usage, "to": saved.last_performed_usage},
    }
    await uow.audit.add(
        audit_entry(
            actor,
            org_id,
            "maintenance_program",
            saved.id,
            AuditAction.UPDATE,
            saved.version,
            {"changes": changes, "task_id": str(task.id)},
        )
    )
    return {"id": str(saved.id), **changes}


async def _locked(uow: UnitOfWork, org_id: uuid.UUID, task_id: uuid.UUID) -> MaintenanceTask:
    task = await uow.tasks.get(org_id, task_id, for_update=True)
    if task is None:
        raise NotFound("maintenance task not found")
    return task


async def _detail(uow: UnitOfWork, task: MaintenanceTask) -> TaskDetail:
    return TaskDetail(
        task,
        tuple(await uow.tasks.reservations(task.org_id, task.id)),
        tuple(await uow.compliance_items.for_task(task.org_id, task.id)),
    )
