"""The part item actor's commands: item updates and deletes, reserving the item, and its reservations' states.

The service runs over the command's own unit of work, so the rows, the audit row, the outbox
event and the command's result commit together; the result body is what the matching REST read
renders. Reserving also holds the item's Redis lock (the `PartItemLocks` port).
"""

from __future__ import annotations

from amss.actors.executor import CommandContext, CommandHandler
from amss.app import parts_commands
from amss.app.clock import Clock, utc_now
from amss.app.commands.outcomes import Outcome, Succeeded
from amss.app.parts import PartsService
from amss.app.ports import PartItemLocks
from amss.app.views import part_item_view, part_reservation_view


class PartCommands:
    def __init__(self, locks: PartItemLocks, clock: Clock = utc_now) -> None:
        self._locks = locks
        self._clock = clock

    def handlers(self) -> dict[str, CommandHandler]:
        return {
            parts_commands.ITEM_UPDATE: self.update_item,
            parts_commands.ITEM_DELETE: self.delete_item,
            parts_commands.RESERVE: self.reserve,
            parts_commands.RESERVATION_STATE: self.change_state,
        }

    def _service(self, context: CommandContext) -> PartsService:
        return PartsService(context.unit_of_work, self._clock, self._locks)

    async def update_item(self, context: CommandContext) -> Outcome:
        command = parts_commands.read_item_update(context.command.payload)
        updated = await self._service(context).update_item(
            context.command.acting(),
            context.command.org_id,
            command.part_item_id,
            command.patch,
            command.expected_version,
        )
        return Succeeded(part_item_view(updated))

    async def delete_item(self, context: CommandContext) -> Outcome:
        command = parts_commands.read_item_delete(context.command.payload)
        await self._service(context).delete_item(
            context.command.acting(), context.command.org_id, command.part_item_id, command.expected_version
        )
        return Succeeded(None)

    async def reserve(self, context: CommandContext) -> Outcome:
        command = parts_commands.read_reserve(context.command.payload)
        reservation = await self._service(context).reserve(
            context.command.acting(), context.command.org_id, command.task_id, command.part_item_id, command.quantity
        )
        return Succeeded(part_reservation_view(reservation))

    async def change_state(self, context: CommandContext) -> Outcome:
        command = parts_commands.read_reservation_state(context.command.payload)
        updated = await self._service(context).change_reservation_state(
            context.command.acting(),
            context.command.org_id,
            command.reservation_id,
            command.state,
            command.expected_version,
        )
        return Succeeded(part_reservation_view(updated))
