"""The ports of the maintenance-program use cases: new-object and filter values, the repository.

Kept apart from amss/app/ports.py (which only names the repositories on the unit of work).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from amss.app.paging import Page, PageRequest
from amss.domain.enums import IntervalType
from amss.domain.programs import MaintenanceProgram


@dataclass(frozen=True)
class NewProgram:
    name: str
    interval_type: IntervalType
    interval_value: int
    aircraft_id: uuid.UUID | None = None
    last_performed: datetime | None = None
    last_performed_usage: int | None = None


@dataclass(frozen=True)
class ProgramFilter:
    aircraft_id: uuid.UUID | None = None
    interval_type: IntervalType | None = None


class ProgramRepository(Protocol):
    async def add(self, org_id: uuid.UUID, new: NewProgram) -> MaintenanceProgram: ...
    async def get(
        self, org_id: uuid.UUID, program_id: uuid.UUID, *, for_update: bool = False
    ) -> MaintenanceProgram | None: ...
    async def list_page(
        self, org_id: uuid.UUID, page: PageRequest, program_filter: ProgramFilter
    ) -> Page[MaintenanceProgram]: ...
    async def update(self, current: MaintenanceProgram, changes: dict[str, Any]) -> MaintenanceProgram: ...
    async def soft_delete(self, current: MaintenanceProgram, at: datetime) -> MaintenanceProgram: ...
    async def aircraft_exists(self, org_id: uuid.UUID, aircraft_id: uuid.UUID) -> bool: ...
    async def generation_candidates(self, limit: int, org_id: uuid.UUID | None = None) -> list[MaintenanceProgram]:
        """Live programs on live aircraft with no scheduled or in-progress task (of one organization, or all)."""
        ...

    async def event_recorded(self, org_id: uuid.UUID, dedupe_key: str) -> bool:
        """Whether an outbox event with this dedupe key was recorded (a generation already happened)."""
        ...
