"""Maintenance programs in Postgres: live rows of one organization, version-checked writes.

The partial unique index `maintenance_programs_org_name_aircraft_live_key` decides name clashes
(409 through the error translation); the composite foreign key keeps a program on an aircraft
of its own organization.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

import asyncpg

from amss.app.paging import Page, PageRequest
from amss.app.programs.ports import NewProgram, ProgramFilter
from amss.app.sorts import PROGRAM_SORTS
from amss.domain.enums import IntervalType
from amss.domain.errors import Conflict
from amss.domain.programs import MaintenanceProgram
from amss.infra.postgres.listing import Where, fetch_page
from amss.infra.postgres.organizations_repo import set_clause
from amss.infra.postgres.sql import Connection, fetch_live_row, fetch_one, soft_delete_row

PROGRAM_COLUMNS: Final = (
    "id, org_id, aircraft_id, name, interval_type::text AS interval_type, interval_value, last_performed,"
    " last_performed_usage, version, created_at, updated_at, deleted_at"
)
_UPDATABLE = frozenset({"name", "interval_value", "last_performed", "last_performed_usage"})
_CHANGED_CONCURRENTLY = "the maintenance program was changed concurrently; read it again"


def program_from_row(row: asyncpg.Record) -> MaintenanceProgram:
    values = dict(row)
    values["interval_type"] = IntervalType(values["interval_type"])
    return MaintenanceProgram(**values)


class PgProgramRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, org_id: uuid.UUID, new: NewProgram) -> MaintenanceProgram:
        row = await fetch_one(
            self._conn,
            "INSERT INTO maintenance_programs (org_id, aircraft_id, name, interval_type, interval_value,"
            f" last_performed, last_performed_usage) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {PROGRAM_COLUMNS}",
            org_id,
            new.aircraft_id,
            new.name,
            new.interval_type.value,
            new.interval_value,
            new.last_performed,
            new.last_performed_usage,
        )
        return program_from_row(row)

    async def get(
        self, org_id: uuid.UUID, program_id: uuid.UUID, *, for_update: bool = False
    ) -> MaintenanceProgram | None:
        row = await fetch_live_row(
            self._conn, "maintenance_programs", PROGRAM_COLUMNS, org_id, program_id, for_update=for_update
        )
        return program_from_row(row) if row else None

    async def list_page(
        self, org_id: uuid.UUID, page: PageRequest, program_filter: ProgramFilter
    ) -> Page[MaintenanceProgram]:
        where = Where("org_id = {}", org_id).add("deleted_at IS NULL")
        where.add_if(program_filter.aircraft_id, "aircraft_id = {}")
        interval_type = program_filter.interval_type.value if program_filter.interval_type else None
        where.add_if(interval_type, "interval_type = {}::interval_type")
        return await fetch_page(
            self._conn,
            f"SELECT {PROGRAM_COLUMNS} FROM maintenance_programs",
            where,
            page,
            PROGRAM_SORTS,
            program_from_row,
        )

    async def update(self, current: MaintenanceProgram, changes: dict[str, Any]) -> MaintenanceProgram:
        assignments, values = set_clause(changes, _UPDATABLE, 4)
        row = await self._conn.fetchrow(
            f"UPDATE maintenance_programs SET {assignments} WHERE org_id = $1 AND id = $2 AND version = $3"
            f" AND deleted_at IS NULL RETURNING {PROGRAM_COLUMNS}",
            current.org_id,
            current.id,
            current.version,
            *values,
        )
        if row is None:
            raise Conflict(_CHANGED_CONCURRENTLY)
        return program_from_row(row)

    async def soft_delete(self, current: MaintenanceProgram, at: datetime) -> MaintenanceProgram:
        row = await soft_delete_row(
            self._conn, "maintenance_programs", PROGRAM_COLUMNS, current, at, _CHANGED_CONCURRENTLY
        )
        return program_from_row(row)

    async def aircraft_exists(self, org_id: uuid.UUID, aircraft_id: uuid.UUID) -> bool:
        found = await self._conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM aircraft WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL)",
            org_id,
            aircraft_id,
        )
        return bool(found)

    async def generation_candidates(self, limit: int, org_id: uuid.UUID | None = None) -> list[MaintenanceProgram]:
        """Across organizations: live programs on live aircraft with no live scheduled or in-progress task."""
        columns = ", ".join(f"p.{column.strip()}" for column in PROGRAM_COLUMNS.split(","))
        rows = await self._conn.fetch(
            f"SELECT {columns} FROM maintenance_programs p"
            " JOIN aircraft a ON a.org_id = p.org_id AND a.id = p.aircraft_id AND a.deleted_at IS NULL"
            " WHERE p.deleted_at IS NULL AND p.aircraft_id IS NOT NULL AND ($2::uuid IS NULL OR p.org_id = $2)"
            " AND NOT EXISTS ("
            " SELECT 1 FROM maintenance_tasks t WHERE t.org_id = p.org_id AND t.program_id = p.id"
            " AND t.deleted_at IS NULL AND t.state IN ('scheduled', 'in_progress'))"
            " ORDER BY p.org_id, p.aircraft_id, p.id LIMIT $1",
            limit,
            org_id,
        )
        return [program_from_row(row) for row in rows]

    async def event_recorded(self, org_id: uuid.UUID, dedupe_key: str) -> bool:
        found = await self._conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM outbox_events WHERE org_id = $1 AND dedupe_key = $2)", org_id, dedupe_key
        )
        return bool(found)
