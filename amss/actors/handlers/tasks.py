"""The aircraft actor's task and compliance commands, run through TaskService and ComplianceService.

Both services — and the AircraftService whose grounding rules a finished task triggers — run
over the command's own unit of work (`context.unit_of_work`), so the task row, its audit row,
its outbox event, the released reservations, the program's performance, the aircraft's
automatic status change and the command's result commit together. The result body is the one
the synchronous REST call gives: the task as `GET /maintenance-tasks/{id}` renders it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from amss.actors.executor import CommandContext, CommandHandler
from amss.app import task_commands
from amss.app.aircraft import AircraftService
from amss.app.clock import Clock, utc_now
from amss.app.commands.outcomes import Outcome, Succeeded
from amss.app.compliance import ComplianceService
from amss.app.task_views import compliance_view, task_detail_view
from amss.app.tasks import TaskDetail, TaskService


def detail_view(detail: TaskDetail) -> dict[str, Any]:
    return task_detail_view(detail.task, detail.reservations, detail.compliance_items)


class TaskCommands:
    def __init__(self, grounding_lead_time: timedelta, clock: Clock = utc_now) -> None:
        self._lead_time = grounding_lead_time
        self._clock = clock

    def handlers(self) -> dict[str, CommandHandler]:
        return {
            task_commands.CREATE: self.create,
            task_commands.UPDATE: self.update,
            task_commands.TRANSITION: self.transition,
            task_commands.DELETE: self.delete,
            task_commands.COMPLIANCE_CREATE: self.compliance_create,
            task_commands.COMPLIANCE_UPDATE: self.compliance_update,
            task_commands.COMPLIANCE_SIGN_OFF: self.compliance_sign_off,
        }

    def _tasks(self, context: CommandContext) -> TaskService:
        aircraft = AircraftService(context.unit_of_work, self._clock, self._lead_time)
        return TaskService(context.unit_of_work, self._clock, aircraft)

    def _compliance(self, context: CommandContext) -> ComplianceService:
        return ComplianceService(context.unit_of_work, self._clock)

    async def create(self, context: CommandContext) -> Outcome:
        new = task_commands.read_create(context.command.payload)
        detail = await self._tasks(context).create(context.command.acting(), context.command.org_id, new)
        return Succeeded(detail_view(detail))

    async def update(self, context: CommandContext) -> Outcome:
        command = task_commands.read_update(context.command.payload)
        detail = await self._tasks(context).update(
            context.command.acting(), context.command.org_id, command.task_id, command.patch, command.expected_version
        )
        return Succeeded(detail_view(detail))

    async def transition(self, context: CommandContext) -> Outcome:
        command = task_commands.read_transition(context.command.payload)
        detail = await self._tasks(context).transition(
            context.command.acting(),
            context.command.org_id,
            command.task_id,
            command.state,
            notes=command.notes,
            override=command.override,
        )
        return Succeeded(detail_view(detail))

    async def delete(self, context: CommandContext) -> Outcome:
        command = task_commands.read_delete(context.command.payload)
        await self._tasks(context).delete(
            context.command.acting(), context.command.org_id, command.task_id, command.expected_version
        )
        return Succeeded(None)

    async def compliance_create(self, context: CommandContext) -> Outcome:
        command = task_commands.read_compliance_create(context.command.payload)
        item = await self._compliance(context).create(
            context.command.acting(), context.command.org_id, command.task_id, command.description
        )
        return Succeeded(compliance_view(item))

    async def compliance_update(self, context: CommandContext) -> Outcome:
        command = task_commands.read_compliance_update(context.command.payload)
        item = await self._compliance(context).edit(
            context.command.acting(),
            context.command.org_id,
            command.item_id,
            command.description,
            command.expected_version,
        )
        return Succeeded(compliance_view(item))

    async def compliance_sign_off(self, context: CommandContext) -> Outcome:
        command = task_commands.read_sign_off(context.command.payload)
        item = await self._compliance(context).sign_off(
            context.command.acting(), context.command.org_id, command.item_id, command.result
        )
        return Succeeded(compliance_view(item))
