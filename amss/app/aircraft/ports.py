"""The aircraft's ports: what the service asks of its repository, and the new-aircraft and filter shapes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from amss.app.paging import Page, PageRequest
from amss.domain.aircraft import Aircraft
from amss.domain.enums import AircraftStatus, GroundingOrigin
from amss.domain.tasks import MaintenanceTask


@dataclass(frozen=True)
class NewAircraft:
    tail_number: str
    model: str
    status: AircraftStatus = AircraftStatus.OPERATIONAL
    capacity_slots: int = 1
    last_maintenance: datetime | None = None
    next_due: datetime | None = None
    # set from status by checked_new: a new grounded aircraft was grounded by a person
    grounded_by: GroundingOrigin | None = None


@dataclass(frozen=True)
class AircraftFilter:
    status: AircraftStatus | None = None
    tail_number: str | None = None
    model: str | None = None


class AircraftRepository(Protocol):
    async def add(self, org_id: uuid.UUID, new: NewAircraft) -> Aircraft: ...
    async def get(self, org_id: uuid.UUID, aircraft_id: uuid.UUID, *, for_update: bool = False) -> Aircraft | None: ...
    async def list_page(
        self, org_id: uuid.UUID, page: PageRequest, aircraft_filter: AircraftFilter
    ) -> Page[Aircraft]: ...
    async def update(self, current: Aircraft, changes: dict[str, Any]) -> Aircraft: ...
    async def soft_delete(self, current: Aircraft, at: datetime) -> Aircraft: ...
    async def add_usage(self, current: Aircraft, flight_hours: int, cycles: int) -> Aircraft: ...
    async def active_tasks(self, org_id: uuid.UUID, aircraft_id: uuid.UUID) -> list[MaintenanceTask]:
        """The aircraft's live scheduled and in-progress tasks: all its status and delete rules look at."""
        ...
