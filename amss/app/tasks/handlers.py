"""Task and compliance-item handlers, run through TaskService and ComplianceService.

Both services — and the AircraftService whose grounding rules a finished task triggers — run
over the command's own unit of work, so the task row, its audit row, its outbox event, the
released reservations, the program's performance, the aircraft's automatic status change and the
command's outcome commit together. The view is the task as `GET /maintenance-tasks/{id}` shows it.
"""

from __future__ import annotations

from typing import Any

from amss.app.aircraft.service import AircraftService
from amss.app.commands.base import Issuer
from amss.app.commands.deps import CommandDeps
from amss.app.commands.outcomes import Outcome, Succeeded
from amss.app.ports import Clock, UnitOfWorkFactory
from amss.app.tasks.commands import (
    CreateComplianceItem,
    CreateTask,
    DeleteTask,
    SignOffComplianceItem,
    TransitionTask,
    UpdateComplianceItem,
    UpdateTask,
)
from amss.app.tasks.compliance import ComplianceService
from amss.app.tasks.service import TaskDetail, TaskService
from amss.app.tasks.views import compliance_view, task_detail_view


def detail_view(detail: TaskDetail) -> dict[str, Any]:
    return task_detail_view(detail.task, detail.reservations, detail.compliance_items)


def task_service(uow: UnitOfWorkFactory, clock: Clock, deps: CommandDeps) -> TaskService:
    aircraft = AircraftService(uow, clock, deps.grounding_lead_time)
    return TaskService(uow, clock, aircraft)


async def create_task(
    command: CreateTask, by: Issuer, uow: UnitOfWorkFactory, clock: Clock, deps: CommandDeps
) -> Outcome:
    detail = await task_service(uow, clock, deps).create(by.actor, by.org_id, command.new_task())
    return Succeeded(detail_view(detail))


async def update_task(
    command: UpdateTask, by: Issuer, uow: UnitOfWorkFactory, clock: Clock, deps: CommandDeps
) -> Outcome:
    detail = await task_service(uow, clock, deps).update(
        by.actor, by.org_id, command.task_id, command.changes.patch(), command.expected_version
    )
    return Succeeded(detail_view(detail))


async def transition_task(
    command: TransitionTask, by: Issuer, uow: UnitOfWorkFactory, clock: Clock, deps: CommandDeps
) -> Outcome:
    detail = await task_service(uow, clock, deps).transition(
        by.actor, by.org_id, command.task_id, command.state, notes=command.notes, override=command.override
    )
    return Succeeded(detail_view(detail))


async def delete_task(
    command: DeleteTask, by: Issuer, uow: UnitOfWorkFactory, clock: Clock, deps: CommandDeps
) -> Outcome:
    await task_service(uow, clock, deps).delete(by.actor, by.org_id, command.task_id, command.expected_version)
    return Succeeded(None)


async def create_compliance_item(
    command: CreateComplianceItem, by: Issuer, uow: UnitOfWorkFactory, clock: Clock, deps: CommandDeps
) -> Outcome:
    item = await ComplianceService(uow, clock).create(by.actor, by.org_id, command.task_id, command.description)
    return Succeeded(compliance_view(item))


async def update_compliance_item(
    command: UpdateComplianceItem, by: Issuer, uow: UnitOfWorkFactory, clock: Clock, deps: CommandDeps
) -> Outcome:
    item = await ComplianceService(uow, clock).edit(
        by.actor, by.org_id, command.item_id, command.description, command.expected_version
    )
    return Succeeded(compliance_view(item))


async def sign_off_compliance_item(
    command: SignOffComplianceItem, by: Issuer, uow: UnitOfWorkFactory, clock: Clock, deps: CommandDeps
) -> Outcome:
    item = await ComplianceService(uow, clock).sign_off(by.actor, by.org_id, command.item_id, command.result)
    return Succeeded(compliance_view(item))
