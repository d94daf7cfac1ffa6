"""The aircraft actor's commands: update, delete and usage of one aircraft, run through AircraftService.

The service runs over the command's own unit of work (`context.unit_of_work`), so the row, its
audit row, its outbox event and the command's result commit together. The result body is the
one the synchronous REST call gives: the aircraft as `GET /aircraft/{id}` renders it (or nothing
for a delete); a broken rule raises and the executor records it as the error response.
"""

from __future__ import annotations

from datetime import timedelta

from amss.actors.executor import CommandContext, CommandHandler
from amss.app import aircraft_commands
from amss.app.aircraft import AircraftService
from amss.app.clock import Clock, utc_now
from amss.app.commands.outcomes import Outcome, Succeeded
from amss.app.views import aircraft_view


class AircraftCommands:
    def __init__(self, grounding_lead_time: timedelta, clock: Clock = utc_now) -> None:
        self._lead_time = grounding_lead_time
        self._clock = clock

    def handlers(self) -> dict[str, CommandHandler]:
        return {
            aircraft_commands.UPDATE: self.update,
            aircraft_commands.DELETE: self.delete,
            aircraft_commands.USAGE: self.usage,
            aircraft_commands.APPLY_GROUNDING: self.apply_grounding,
        }

    def _service(self, context: CommandContext) -> AircraftService:
        return AircraftService(context.unit_of_work, self._clock, self._lead_time)

    async def update(self, context: CommandContext) -> Outcome:
        command = aircraft_commands.read_update(context.command.payload)
        updated = await self._service(context).update(
            context.command.acting(),
            context.command.org_id,
            command.aircraft_id,
            command.changes,
            command.expected_version,
        )
        return Succeeded(aircraft_view(updated))

    async def delete(self, context: CommandContext) -> Outcome:
        command = aircraft_commands.read_delete(context.command.payload)
        await self._service(context).delete(
            context.command.acting(), context.command.org_id, command.aircraft_id, command.expected_version
        )
        return Succeeded(None)

    async def usage(self, context: CommandContext) -> Outcome:
        command = aircraft_commands.read_usage(context.command.payload)
        updated = await self._service(context).record_usage(
            context.command.acting(),
            context.command.org_id,
            command.aircraft_id,
            command.flight_hours,
            command.cycles,
        )
        return Succeeded(aircraft_view(updated))

    async def apply_grounding(self, context: CommandContext) -> Outcome:
        """The grounding check's command: ground the aircraft if a confirmed task starts within the lead time.

        The aircraft either way; `changed` says whether the rules changed it."""
        aircraft_id = aircraft_commands.read_apply_grounding(context.command.payload)
        service = self._service(context)
        updated = await service.apply_grounding_rules(
            context.command.acting(), context.command.org_id, aircraft_id, task_finished=False
        )
        changed = updated is not None
        aircraft = updated if updated is not None else await service.get(context.command.org_id, aircraft_id)
        return Succeeded(aircraft_view(aircraft), changed=changed)
