"""Aircraft in Postgres: live rows of one organization, version-checked updates, atomic usage counters.

Every read and write is scoped to `org_id` and to live rows (`deleted_at IS NULL`); every
update names the version it read, and a miss is a conflict, never a silent no-op.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from amss.app.aircraft.ports import AircraftFilter, NewAircraft
from amss.app.paging import Page, PageRequest
from amss.app.sorts import AIRCRAFT_SORTS
from amss.domain.aircraft import Aircraft
from amss.domain.enums import AircraftStatus, GroundingOrigin, TaskState, TaskType
from amss.domain.errors import Conflict
from amss.domain.tasks import MaintenanceTask
from amss.infra.postgres.listing import Where, fetch_page
from amss.infra.postgres.organizations_repo import set_clause
from amss.infra.postgres.sql import Connection, fetch_live_row, fetch_one, soft_delete_row

_COLUMNS = (
    "id, org_id, tail_number, model, last_maintenance, next_due, status::text AS status, capacity_slots,"
    " flight_hours_total, cycles_total, version, created_at, updated_at, deleted_at, grounded_by::text AS grounded_by"
)
_TASK_COLUMNS = (
    "id, org_id, aircraft_id, program_id, type::text AS type, state::text AS state, start_time, end_time,"
    " assigned_mechanic_id, notes, version, created_at, updated_at, deleted_at"
)
_UPDATABLE = frozenset(
    {"tail_number", "model", "status", "grounded_by", "capacity_slots", "last_maintenance", "next_due"}
)
_CHANGED_CONCURRENTLY = "the aircraft was changed concurrently; read it again"


def _aircraft(row: asyncpg.Record) -> Aircraft:
    values = dict(row)
    values["status"] = AircraftStatus(values["status"])
    values["grounded_by"] = GroundingOrigin(values["grounded_by"]) if values["grounded_by"] else None
    return Aircraft(**values)


def _task(row: asyncpg.Record) -> MaintenanceTask:
    values = dict(row)
    values["type"] = TaskType(values["type"])
    values["state"] = TaskState(values["state"])
    return MaintenanceTask(**values)


class PgAircraftRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, org_id: uuid.UUID, new: NewAircraft) -> Aircraft:
        row = await fetch_one(
            self._conn,
            "INSERT INTO aircraft"
            " (org_id, tail_number, model, status, capacity_slots, last_maintenance, next_due, grounded_by)"
            f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {_COLUMNS}",
            org_id,
            new.tail_number,
            new.model,
            new.status.value,
            new.capacity_slots,
            new.last_maintenance,
            new.next_due,
            new.grounded_by.value if new.grounded_by else None,
        )
        return _aircraft(row)

    async def get(self, org_id: uuid.UUID, aircraft_id: uuid.UUID, *, for_update: bool = False) -> Aircraft | None:
        row = await fetch_live_row(self._conn, "aircraft", _COLUMNS, org_id, aircraft_id, for_update=for_update)
        return _aircraft(row) if row else None

    async def list_page(self, org_id: uuid.UUID, page: PageRequest, aircraft_filter: AircraftFilter) -> Page[Aircraft]:
        where = Where("org_id = {}", org_id).add("deleted_at IS NULL")
        status = aircraft_filter.status.value if aircraft_filter.status else None
        where.add_if(status, "status = {}::aircraft_status")
        where.add_if(aircraft_filter.tail_number, "tail_number = {}")
        where.add_if(aircraft_filter.model, "model = {}")
        return await fetch_page(self._conn, f"SELECT {_COLUMNS} FROM aircraft", where, page, AIRCRAFT_SORTS, _aircraft)

    async def update(self, current: Aircraft, changes: dict[str, Any]) -> Aircraft:
        values_by_column = {
            key: (value.value if isinstance(value, AircraftStatus | GroundingOrigin) else value)
            for key, value in changes.items()
        }
        assignments, values = set_clause(values_by_column, _UPDATABLE, 4)
        row = await self._conn.fetchrow(
            f"UPDATE aircraft SET {assignments} WHERE org_id = $1 AND id = $2 AND version = $3 AND deleted_at IS NULL"
            f" RETURNING {_COLUMNS}",
            current.org_id,
            current.id,
            current.version,
            *values,
        )
        if row is None:
            raise Conflict(_CHANGED_CONCURRENTLY)
        return _aircraft(row)

    async def soft_delete(self, current: Aircraft, at: datetime) -> Aircraft:
        row = await soft_delete_row(self._conn, "aircraft", _COLUMNS, current, at, _CHANGED_CONCURRENTLY)
        return _aircraft(row)

    async def add_usage(self, current: Aircraft, flight_hours: int, cycles: int) -> Aircraft:
        """Add to the counters in the statement itself, so no increment is lost whatever ran before."""
        row = await self._conn.fetchrow(
            "UPDATE aircraft SET flight_hours_total = flight_hours_total + $4, cycles_total = cycles_total + $5,"
            " version = version + 1, updated_at = now()"
            f" WHERE org_id = $1 AND id = $2 AND version = $3 AND deleted_at IS NULL RETURNING {_COLUMNS}",
            current.org_id,
            current.id,
            current.version,
            flight_hours,
            cycles,
        )
        if row is None:
            raise Conflict(_CHANGED_CONCURRENTLY)
        return _aircraft(row)

    async def active_tasks(self, org_id: uuid.UUID, aircraft_id: uuid.UUID) -> list[MaintenanceTask]:
        rows = await self._conn.fetch(
            f"SELECT {_TASK_COLUMNS} FROM maintenance_tasks WHERE org_id = $1 AND aircraft_id = $2"
            " AND deleted_at IS NULL AND state IN ('scheduled', 'in_progress') ORDER BY start_time, id",
            org_id,
            aircraft_id,
        )
        return [_task(row) for row in rows]

    async def grounding_candidates(
        self, starting_before: datetime, ending_after: datetime, limit: int, org_id: uuid.UUID | None
    ) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """Across organizations (the grounding job's read): (org_id, id) of each operational aircraft with a
        confirmed scheduled task (an assigned mechanic) starting before `starting_before`, ending after
        `ending_after`."""
        rows = await self._conn.fetch(
            "SELECT DISTINCT a.org_id, a.id FROM aircraft a JOIN maintenance_tasks t"
            " ON t.org_id = a.org_id AND t.aircraft_id = a.id"
            " WHERE a.deleted_at IS NULL AND a.status = 'operational' AND t.deleted_at IS NULL"
            " AND t.state = 'scheduled' AND t.assigned_mechanic_id IS NOT NULL"
            " AND t.start_time <= $1 AND t.end_time > $2 AND ($4::uuid IS NULL OR a.org_id = $4)"
            " ORDER BY a.org_id, a.id LIMIT $3",
            starting_before,
            ending_after,
            limit,
            org_id,
        )
        return [(row["org_id"], row["id"]) for row in rows]
