"""The ports of the parts use cases: new-object and filter values, and the three repositories.

Kept apart from amss/app/ports.py (which re-exports nothing from here, but names the
repositories on the unit of work) so the parts slice stays in files of its own.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from amss.app.paging import Page, PageRequest
from amss.domain.enums import PartItemStatus, ReservationState, TaskState
from amss.domain.parts import PartDefinition, PartItem, PartReservation


@dataclass(frozen=True)
class NewPartDefinition:
    name: str
    category: str = ""


@dataclass(frozen=True)
class PartDefinitionFilter:
    name: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class NewPartItem:
    part_definition_id: uuid.UUID
    serial_number: str
    expiry_date: datetime | None = None
    # in_stock, or used / disposed to record existing inventory
    status: PartItemStatus = PartItemStatus.IN_STOCK


@dataclass(frozen=True)
class PartItemFilter:
    status: PartItemStatus | None = None
    definition_id: uuid.UUID | None = None
    expiry_before: datetime | None = None


@dataclass(frozen=True)
class ReservationFilter:
    task_id: uuid.UUID | None = None
    part_item_id: uuid.UUID | None = None
    state: ReservationState | None = None


@dataclass(frozen=True)
class TaskFacts:
    """What the reservation rules need to know about a task."""

    id: uuid.UUID
    state: TaskState
    assigned_mechanic_id: uuid.UUID | None


class PartDefinitionRepository(Protocol):
    async def add(self, org_id: uuid.UUID, new: NewPartDefinition) -> PartDefinition: ...
    async def get(
        self, org_id: uuid.UUID, definition_id: uuid.UUID, *, for_update: bool = False
    ) -> PartDefinition | None: ...
    async def list_page(
        self, org_id: uuid.UUID, page: PageRequest, definition_filter: PartDefinitionFilter
    ) -> Page[PartDefinition]: ...
    async def update(self, current: PartDefinition, changes: dict[str, Any]) -> PartDefinition: ...
    async def soft_delete(self, current: PartDefinition, at: datetime) -> PartDefinition: ...
    async def live_item_count(self, org_id: uuid.UUID, definition_id: uuid.UUID) -> int: ...


class PartItemRepository(Protocol):
    async def add(self, org_id: uuid.UUID, new: NewPartItem) -> PartItem: ...
    async def add_many(self, org_id: uuid.UUID, news: Sequence[NewPartItem]) -> list[PartItem]: ...
    async def get(
        self, org_id: uuid.UUID, item_id: uuid.UUID, *, for_update: bool = False, include_deleted: bool = False
    ) -> PartItem | None: ...
    async def list_page(self, org_id: uuid.UUID, page: PageRequest, item_filter: PartItemFilter) -> Page[PartItem]: ...
    async def update(self, current: PartItem, changes: dict[str, Any]) -> PartItem: ...
    async def soft_delete(self, current: PartItem, at: datetime) -> PartItem: ...


class PartReservationRepository(Protocol):
    async def add(
        self, org_id: uuid.UUID, task_id: uuid.UUID, part_item_id: uuid.UUID, quantity: int
    ) -> PartReservation: ...
    async def get(
        self, org_id: uuid.UUID, reservation_id: uuid.UUID, *, for_update: bool = False
    ) -> PartReservation | None: ...
    async def list_page(
        self, org_id: uuid.UUID, page: PageRequest, reservation_filter: ReservationFilter
    ) -> Page[PartReservation]: ...
    async def set_state(self, current: PartReservation, state: ReservationState) -> PartReservation: ...
    async def active_for_item(self, org_id: uuid.UUID, part_item_id: uuid.UUID) -> PartReservation | None: ...
    async def task_facts(
        self, org_id: uuid.UUID, task_id: uuid.UUID, *, for_share: bool = False, include_deleted: bool = False
    ) -> TaskFacts | None: ...
