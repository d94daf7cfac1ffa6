"""Maintenance tasks in Postgres: live rows of one organization, version-checked writes, the overlap backstop.

The exclusion constraint `maintenance_tasks_no_overlap` is the last word on overlapping windows.
When the constraint fires (two writers racing past the service's pre-check) the transaction
survives long enough to read the task it collided with, and the error names it as the pre-check
would have: an insert names the constraint as its `ON CONFLICT ... DO NOTHING` arbiter (no
savepoint, so no extra round trips on the common path); a window change, which has no such
clause, runs in a savepoint.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

import asyncpg

from amss.app.paging import Page, PageRequest
from amss.app.sorts import TASK_SORTS
from amss.app.tasks.ports import NewTask, TaskFilter
from amss.domain.enums import IntervalType, ReservationState, Role, TaskState, TaskType
from amss.domain.errors import Conflict, ScheduleOverlap
from amss.domain.parts import PartReservation
from amss.domain.programs import MaintenanceProgram
from amss.domain.tasks import MaintenanceTask, check_no_overlap
from amss.domain.users import User
from amss.infra.postgres.listing import Where, fetch_page
from amss.infra.postgres.organizations_repo import set_clause
from amss.infra.postgres.sql import Connection, fetch_live_row, soft_delete_row

TASK_COLUMNS: Final = (
    "id, org_id, aircraft_id, program_id, type::text AS type, state::text AS state, start_time, end_time,"
    " assigned_mechanic_id, notes, version, created_at, updated_at, deleted_at"
)
_RESERVATION_COLUMNS = (
    "id, org_id, task_id, part_item_id, state::text AS state, quantity, version, created_at, updated_at"
)
_PROGRAM_COLUMNS = (
    "id, org_id, aircraft_id, name, interval_type::text AS interval_type, interval_value, last_performed,"
    " last_performed_usage, version, created_at, updated_at, deleted_at"
)
_USER_COLUMNS = (
    "id, org_id, email::text AS email, role::text AS role, version, created_at, updated_at, last_login, deleted_at"
)
_UPDATABLE = frozenset({"type", "start_time", "end_time", "assigned_mechanic_id", "notes", "state"})
_NO_OVERLAP = "maintenance_tasks_no_overlap"
_CHANGED_CONCURRENTLY = "the task was changed concurrently; read it again"


def task_from_row(row: asyncpg.Record) -> MaintenanceTask:
    values = dict(row)
    values["type"] = TaskType(values["type"])
    values["state"] = TaskState(values["state"])
    return MaintenanceTask(**values)


def _reservation(row: asyncpg.Record) -> PartReservation:
    values = dict(row)
    values["state"] = ReservationState(values["state"])
    return PartReservation(**values)


def _program(row: asyncpg.Record) -> MaintenanceProgram:
    values = dict(row)
    values["interval_type"] = IntervalType(values["interval_type"])
    return MaintenanceProgram(**values)


def _user(row: asyncpg.Record) -> User:
    values = dict(row)
    values["role"] = Role(values["role"])
    return User(**values)


def _column_value(value: object) -> object:
    return value.value if isinstance(value, TaskType | TaskState) else value


class PgTaskRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, org_id: uuid.UUID, new: NewTask) -> MaintenanceTask | None:
        """Insert a scheduled task in one round trip; None when the aircraft is not live in the organization.

        The insert selects the aircraft (so another organization's or a deleted aircraft inserts
        nothing) and names the exclusion constraint as its ON CONFLICT arbiter: a window that meets
        a committed active task inserts nothing either, the transaction lives on, and the follow-up
        reads (on this failure path only) tell the two apart.
        """
        row = await self._conn.fetchrow(
            "INSERT INTO maintenance_tasks (org_id, aircraft_id, program_id, type, start_time, end_time,"
            " assigned_mechanic_id, notes)"
            " SELECT a.org_id, a.id, $3::uuid, $4::task_type, $5::timestamptz, $6::timestamptz, $7::uuid, $8::text"
            # FOR SHARE: an aircraft being deleted (its row locked FOR UPDATE) is waited for and then
            # re-checked, so no task lands on an aircraft deleted meanwhile; a delete waits for this insert
            " FROM aircraft a WHERE a.org_id = $1 AND a.id = $2 AND a.deleted_at IS NULL FOR SHARE OF a"
            f" ON CONFLICT ON CONSTRAINT {_NO_OVERLAP} DO NOTHING RETURNING {TASK_COLUMNS}",
            org_id,
            new.aircraft_id,
            new.program_id,
            new.type.value,
            new.start_time,
            new.end_time,
            new.assigned_mechanic_id,
            new.notes,
        )
        if row is not None:
            return task_from_row(row)
        live = await self._conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM aircraft WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL)",
            org_id,
            new.aircraft_id,
        )
        if not live:
            return None
        raise await self._overlap_error(org_id, new.aircraft_id, None, new.start_time, new.end_time)

    async def get(self, org_id: uuid.UUID, task_id: uuid.UUID, *, for_update: bool = False) -> MaintenanceTask | None:
        row = await fetch_live_row(
            self._conn, "maintenance_tasks", TASK_COLUMNS, org_id, task_id, for_update=for_update
        )
        return task_from_row(row) if row else None

    async def list_page(self, org_id: uuid.UUID, page: PageRequest, task_filter: TaskFilter) -> Page[MaintenanceTask]:
        where = Where("org_id = {}", org_id).add("deleted_at IS NULL")
        where.add_if(task_filter.aircraft_id, "aircraft_id = {}")
        where.add_if(task_filter.state.value if task_filter.state else None, "state = {}::task_state")
        where.add_if(task_filter.type.value if task_filter.type else None, "type = {}::task_type")
        where.add_if(task_filter.start_from, "start_time >= {}")
        where.add_if(task_filter.start_to, "start_time < {}")
        return await fetch_page(
            self._conn, f"SELECT {TASK_COLUMNS} FROM maintenance_tasks", where, page, TASK_SORTS, task_from_row
        )

    async def update(self, current: MaintenanceTask, changes: dict[str, Any]) -> MaintenanceTask:
        values_by_column = {name: _column_value(value) for name, value in changes.items()}
        assignments, values = set_clause(values_by_column, _UPDATABLE, 4)
        sql = (
            f"UPDATE maintenance_tasks SET {assignments} WHERE org_id = $1 AND id = $2 AND version = $3"
            f" AND deleted_at IS NULL RETURNING {TASK_COLUMNS}"
        )
        start = changes.get("start_time", current.start_time)
        end = changes.get("end_time", current.end_time)
        row = await self._guarded(
            current.org_id,
            current.aircraft_id,
            current.id,
            start if isinstance(start, datetime) else current.start_time,
            end if isinstance(end, datetime) else current.end_time,
            sql,
            (current.org_id, current.id, current.version, *values),
        )
        if row is None:
            raise Conflict(_CHANGED_CONCURRENTLY)
        return task_from_row(row)

    async def soft_delete(self, current: MaintenanceTask, at: datetime) -> MaintenanceTask:
        row = await soft_delete_row(self._conn, "maintenance_tasks", TASK_COLUMNS, current, at, _CHANGED_CONCURRENTLY)
        return task_from_row(row)

    async def assignee(self, org_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
        row = await self._conn.fetchrow(
            f"SELECT {_USER_COLUMNS} FROM users WHERE org_id = $1 AND id = $2", org_id, user_id
        )
        return _user(row) if row else None

    async def reservations(self, org_id: uuid.UUID, task_id: uuid.UUID) -> list[PartReservation]:
        rows = await self._conn.fetch(
            f"SELECT {_RESERVATION_COLUMNS} FROM part_reservations WHERE org_id = $1 AND task_id = $2"
            " ORDER BY created_at, id",
            org_id,
            task_id,
        )
        return [_reservation(row) for row in rows]

    async def release_reservations(self, org_id: uuid.UUID, task_id: uuid.UUID, at: datetime) -> list[uuid.UUID]:
        rows = await self._conn.fetch(
            "UPDATE part_reservations SET state = 'released', version = version + 1, updated_at = $3"
            " WHERE org_id = $1 AND task_id = $2 AND state = 'reserved' RETURNING id",
            org_id,
            task_id,
            at,
        )
        return sorted((row["id"] for row in rows), key=str)

    async def program(
        self, org_id: uuid.UUID, program_id: uuid.UUID, *, for_update: bool = False
    ) -> MaintenanceProgram | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self._conn.fetchrow(
            f"SELECT {_PROGRAM_COLUMNS} FROM maintenance_programs WHERE org_id = $1 AND id = $2{lock}",
            org_id,
            program_id,
        )
        return _program(row) if row else None

    async def record_program(self, current: MaintenanceProgram, updated: MaintenanceProgram) -> MaintenanceProgram:
        row = await self._conn.fetchrow(
            "UPDATE maintenance_programs SET last_performed = $4, last_performed_usage = $5,"
            " version = version + 1, updated_at = now()"
            f" WHERE org_id = $1 AND id = $2 AND version = $3 RETURNING {_PROGRAM_COLUMNS}",
            current.org_id,
            current.id,
            current.version,
            updated.last_performed,
            updated.last_performed_usage,
        )
        if row is None:
            raise Conflict("the maintenance program was changed concurrently")
        return _program(row)

    async def _guarded(
        self,
        org_id: uuid.UUID,
        aircraft_id: uuid.UUID,
        task_id: uuid.UUID | None,
        start_time: datetime,
        end_time: datetime,
        sql: str,
        args: tuple[Any, ...],
    ) -> asyncpg.Record | None:
        """Run a write that may set an active window; the exclusion constraint's refusal names the other task."""
        try:
            async with self._conn.transaction():  # a savepoint: the transaction outlives a refusal
                return await self._conn.fetchrow(sql, *args)
        except asyncpg.ExclusionViolationError as exc:
            if getattr(exc, "constraint_name", None) != _NO_OVERLAP:
                raise
            raise await self._overlap_error(org_id, aircraft_id, task_id, start_time, end_time) from exc

    async def _overlap_error(
        self,
        org_id: uuid.UUID,
        aircraft_id: uuid.UUID,
        task_id: uuid.UUID | None,
        start_time: datetime,
        end_time: datetime,
    ) -> ScheduleOverlap:
        """The constraint refused the window: name the task it met (or, if that one has ended since, say so)."""
        others = await self._overlapping(org_id, aircraft_id, task_id, start_time, end_time)
        try:
            check_no_overlap(task_id, aircraft_id, start_time, end_time, others)
        except ScheduleOverlap as named:
            return named
        return ScheduleOverlap("the task window overlaps an active task of the same aircraft")

    async def _overlapping(
        self,
        org_id: uuid.UUID,
        aircraft_id: uuid.UUID,
        task_id: uuid.UUID | None,
        start_time: datetime,
        end_time: datetime,
    ) -> list[MaintenanceTask]:
        rows = await self._conn.fetch(
            f"SELECT {TASK_COLUMNS} FROM maintenance_tasks WHERE org_id = $1 AND aircraft_id = $2"
            " AND active_window && tstzrange($3, $4, '[)') AND id IS DISTINCT FROM $5 ORDER BY start_time, id",
            org_id,
            aircraft_id,
            start_time,
            end_time,
            task_id,
        )
        return [task_from_row(row) for row in rows]
