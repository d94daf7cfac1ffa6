"""Part item handlers: its limited updates, its soft delete, reserving it and moving a reservation on.

PartsService runs over the command's own unit of work and holds the part item's lock (deps).
"""

from __future__ import annotations

from amss.app.commands.base import Issuer
from amss.app.commands.deps import CommandDeps
from amss.app.commands.outcomes import Outcome, Succeeded
from amss.app.parts.commands import DeletePartItem, ReservePart, TransitionReservation, UpdatePartItem
from amss.app.parts.service import PartsService
from amss.app.parts.views import part_item_view, part_reservation_view
from amss.app.ports import Clock, UnitOfWorkFactory


def parts_service(uow: UnitOfWorkFactory, clock: Clock, deps: CommandDeps) -> PartsService:
    return PartsService(uow, clock, deps.locks())


async def update_part_item(
    command: UpdatePartItem, by: Issuer, uow: UnitOfWorkFactory, clock: Clock, deps: CommandDeps
) -> Outcome:
    updated = await parts_service(uow, clock, deps).update_item(
        by.actor, by.org_id, command.part_item_id, command.changes.patch(), command.expected_version
    )
    return Succeeded(part_item_view(updated))


async def delete_part_item(
    command: DeletePartItem, by: Issuer, uow: UnitOfWorkFactory, clock: Clock, deps: CommandDeps
) -> Outcome:
    await parts_service(uow, clock, deps).delete_item(
        by.actor, by.org_id, command.part_item_id, command.expected_version
    )
    return Succeeded(None)


async def reserve_part(
    command: ReservePart, by: Issuer, uow: UnitOfWorkFactory, clock: Clock, deps: CommandDeps
) -> Outcome:
    reservation = await parts_service(uow, clock, deps).reserve(
        by.actor, by.org_id, command.task_id, command.part_item_id, command.quantity
    )
    return Succeeded(part_reservation_view(reservation))


async def transition_reservation(
    command: TransitionReservation, by: Issuer, uow: UnitOfWorkFactory, clock: Clock, deps: CommandDeps
) -> Outcome:
    updated = await parts_service(uow, clock, deps).change_reservation_state(
        by.actor, by.org_id, command.reservation_id, command.state, command.expected_version
    )
    return Succeeded(part_reservation_view(updated))
