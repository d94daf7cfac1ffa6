"""Part item handlers: its limited updates, its soft delete, reserving it and moving a reservation on.

PartsService runs over the command's own unit of work and holds the part item's lock (deps).
"""

from __future__ import annotations

from amss.app.commands.base import Issuer
from amss.app.commands.deps import CommandDeps
from amss.app.commands.outcomes import Outcome, Succeeded
from amss.app.parts.commands import (
    DeletePartItem,
    ReleaseParts,
    ReservePart,
    ReserveParts,
    TransitionReservation,
    UpdatePartItem,
)
from amss.app.parts.service import PartsService
from amss.app.parts.views import part_item_view, part_reservation_view
from amss.app.ports import Clock, UnitOfWorkFactory
from amss.domain.enums import ReservationState
from amss.domain.errors import DomainError


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


async def reserve_parts(
    command: ReserveParts, by: Issuer, uow: UnitOfWorkFactory, clock: Clock, deps: CommandDeps
) -> Outcome:
    """Every item reserved in the command's one transaction, or (the first refusal, naming its item) none."""
    service = parts_service(uow, clock, deps)
    reservations = []
    for part_item_id in sorted(command.part_item_ids):
        try:
            reservation = await service.reserve(by.actor, by.org_id, command.task_id, part_item_id)
        except DomainError as exc:
            exc.details = {**exc.details, "part_item_id": str(part_item_id)}
            raise
        reservations.append(part_reservation_view(reservation))
    return Succeeded({"reservations": reservations})


async def release_parts(
    command: ReleaseParts, by: Issuer, uow: UnitOfWorkFactory, clock: Clock, deps: CommandDeps
) -> Outcome:
    """Every reservation released in the command's one transaction, or (the first refusal, naming it) none."""
    service = parts_service(uow, clock, deps)
    released = []
    for reservation_id, _ in command.releases:
        try:
            updated = await service.change_reservation_state(
                by.actor, by.org_id, reservation_id, ReservationState.RELEASED, None
            )
        except DomainError as exc:
            exc.details = {**exc.details, "reservation_id": str(reservation_id)}
            raise
        released.append(part_reservation_view(updated))
    return Succeeded({"reservations": released})
