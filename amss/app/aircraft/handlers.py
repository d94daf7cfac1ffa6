"""Aircraft handlers: update, delete, usage and the grounding check of one aircraft, run through AircraftService.

The service runs over the command's own unit of work, so the row, its audit row, its outbox
event and the command's outcome commit together. The view is the aircraft as
`GET /aircraft/{id}` shows it (nothing for a delete).
"""

from __future__ import annotations

from amss.app.aircraft.commands import ApplyGrounding, DeleteAircraft, RecordAircraftUsage, UpdateAircraft
from amss.app.aircraft.service import AircraftService
from amss.app.aircraft.views import aircraft_view
from amss.app.commands.base import Issuer
from amss.app.commands.deps import CommandDeps
from amss.app.commands.outcomes import Outcome, Succeeded
from amss.app.ports import Clock, UnitOfWorkFactory


def aircraft_service(uow: UnitOfWorkFactory, clock: Clock, deps: CommandDeps) -> AircraftService:
    return AircraftService(uow, clock, deps.grounding_lead_time)


async def update_aircraft(
    command: UpdateAircraft, by: Issuer, uow: UnitOfWorkFactory, clock: Clock, deps: CommandDeps
) -> Outcome:
    updated = await aircraft_service(uow, clock, deps).update(
        by.actor, by.org_id, command.aircraft_id, command.changes.changes(), command.expected_version
    )
    return Succeeded(aircraft_view(updated))


async def delete_aircraft(
    command: DeleteAircraft, by: Issuer, uow: UnitOfWorkFactory, clock: Clock, deps: CommandDeps
) -> Outcome:
    await aircraft_service(uow, clock, deps).delete(by.actor, by.org_id, command.aircraft_id, command.expected_version)
    return Succeeded(None)


async def record_aircraft_usage(
    command: RecordAircraftUsage, by: Issuer, uow: UnitOfWorkFactory, clock: Clock, deps: CommandDeps
) -> Outcome:
    updated = await aircraft_service(uow, clock, deps).record_usage(
        by.actor, by.org_id, command.aircraft_id, command.flight_hours, command.cycles
    )
    return Succeeded(aircraft_view(updated))


async def apply_grounding(
    command: ApplyGrounding, by: Issuer, uow: UnitOfWorkFactory, clock: Clock, deps: CommandDeps
) -> Outcome:
    """Ground the aircraft if a confirmed task starts within the lead time; `changed` says whether it did."""
    service = aircraft_service(uow, clock, deps)
    updated = await service.apply_grounding_rules(by.actor, by.org_id, command.aircraft_id, task_finished=False)
    aircraft = updated if updated is not None else await service.get(by.org_id, command.aircraft_id)
    return Succeeded(aircraft_view(aircraft), changed=updated is not None)
