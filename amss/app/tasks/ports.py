"""The ports of the maintenance-task and compliance use cases: new-object and filter values, the repositories.

Kept apart from amss/app/ports.py (which only names the repositories on the unit of work) so
the task slice stays in files of its own.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from amss.app.paging import Page, PageRequest
from amss.domain.compliance import ComplianceItem
from amss.domain.enums import ComplianceResult, TaskState, TaskType
from amss.domain.parts import PartReservation
from amss.domain.programs import MaintenanceProgram
from amss.domain.tasks import MaintenanceTask
from amss.domain.users import User


@dataclass(frozen=True)
class NewTask:
    aircraft_id: uuid.UUID
    type: TaskType
    start_time: datetime
    end_time: datetime
    program_id: uuid.UUID | None = None
    assigned_mechanic_id: uuid.UUID | None = None
    notes: str | None = None


@dataclass(frozen=True)
class TaskFilter:
    aircraft_id: uuid.UUID | None = None
    state: TaskState | None = None
    type: TaskType | None = None
    start_from: datetime | None = None  # inclusive
    start_to: datetime | None = None  # exclusive


@dataclass(frozen=True)
class ComplianceFilter:
    task_id: uuid.UUID | None = None
    result: ComplianceResult | None = None
    signed: bool | None = None


class TaskRepository(Protocol):
    async def add(self, org_id: uuid.UUID, new: NewTask) -> MaintenanceTask | None:
        """Insert a scheduled task; None when the aircraft is not a live aircraft of the organization.

        The window's overlap is decided as the row goes in (the exclusion constraint): a refusal is
        ScheduleOverlap naming the task in the way."""
        ...

    async def get(
        self, org_id: uuid.UUID, task_id: uuid.UUID, *, for_update: bool = False
    ) -> MaintenanceTask | None: ...
    async def list_page(
        self, org_id: uuid.UUID, page: PageRequest, task_filter: TaskFilter
    ) -> Page[MaintenanceTask]: ...
    async def update(self, current: MaintenanceTask, changes: dict[str, Any]) -> MaintenanceTask: ...
    async def soft_delete(self, current: MaintenanceTask, at: datetime) -> MaintenanceTask: ...
    async def assignee(self, org_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
        """The user, deleted or not, so a deleted mechanic is told apart from an unknown one."""
        ...

    async def reservations(self, org_id: uuid.UUID, task_id: uuid.UUID) -> list[PartReservation]: ...
    async def release_reservations(self, org_id: uuid.UUID, task_id: uuid.UUID, at: datetime) -> list[uuid.UUID]:
        """Release the task's still-reserved reservations; their ids."""
        ...

    async def program(
        self, org_id: uuid.UUID, program_id: uuid.UUID, *, for_update: bool = False
    ) -> MaintenanceProgram | None: ...
    async def record_program(self, current: MaintenanceProgram, updated: MaintenanceProgram) -> MaintenanceProgram: ...


class ComplianceRepository(Protocol):
    async def add(self, org_id: uuid.UUID, task_id: uuid.UUID, description: str) -> ComplianceItem: ...
    async def get(
        self, org_id: uuid.UUID, item_id: uuid.UUID, *, for_update: bool = False
    ) -> ComplianceItem | None: ...
    async def for_task(self, org_id: uuid.UUID, task_id: uuid.UUID) -> list[ComplianceItem]: ...
    async def list_page(
        self, org_id: uuid.UUID, page: PageRequest, compliance_filter: ComplianceFilter
    ) -> Page[ComplianceItem]: ...
    async def save(self, current: ComplianceItem, updated: ComplianceItem) -> ComplianceItem:
        """Write updated's description, result and sign-off over current (version-checked)."""
        ...
