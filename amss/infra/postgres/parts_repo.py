"""Part definitions, part items and part reservations in Postgres.

As for aircraft: every read and write is scoped to `org_id` (and, for definitions and items, to
live rows); every update names the version it read, and a miss is a conflict. The one-active-
reservation index and the availability trigger (migrations 00004 and 00007) back the rules up.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from amss.app.paging import Page, PageRequest
from amss.app.parts.ports import (
    NewPartDefinition,
    NewPartItem,
    PartDefinitionFilter,
    PartItemFilter,
    ReservationFilter,
    TaskFacts,
)
from amss.app.sorts import DEFINITION_SORTS, ITEM_SORTS, RESERVATION_SORTS
from amss.domain.enums import PartItemStatus, ReservationState, TaskState
from amss.domain.errors import Conflict, ValidationFailed
from amss.domain.parts import PartDefinition, PartItem, PartReservation
from amss.infra.postgres.listing import Where, fetch_page
from amss.infra.postgres.organizations_repo import set_clause
from amss.infra.postgres.sql import Connection, fetch_live_row, fetch_one, soft_delete_row

_DEFINITION_COLUMNS = "id, org_id, name, category, version, created_at, updated_at, deleted_at"
_ITEM_COLUMNS = (
    "id, org_id, part_definition_id, serial_number, status::text AS status, expiry_date, version,"
    " created_at, updated_at, deleted_at"
)
_RESERVATION_COLUMNS = (
    "id, org_id, task_id, part_item_id, state::text AS state, quantity, version, created_at, updated_at"
)
_DEFINITION_UPDATABLE = frozenset({"name", "category"})
_ITEM_UPDATABLE = frozenset({"serial_number", "expiry_date", "status"})


def _definition(row: asyncpg.Record) -> PartDefinition:
    return PartDefinition(**dict(row))


def _item(row: asyncpg.Record) -> PartItem:
    values = dict(row)
    values["status"] = PartItemStatus(values["status"])
    return PartItem(**values)


def _reservation(row: asyncpg.Record) -> PartReservation:
    values = dict(row)
    values["state"] = ReservationState(values["state"])
    return PartReservation(**values)


class PgPartDefinitionRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, org_id: uuid.UUID, new: NewPartDefinition) -> PartDefinition:
        row = await fetch_one(
            self._conn,
            "INSERT INTO part_definitions (org_id, name, category) VALUES ($1, $2, $3)"
            f" RETURNING {_DEFINITION_COLUMNS}",
            org_id,
            new.name,
            new.category,
        )
        return _definition(row)

    async def get(
        self, org_id: uuid.UUID, definition_id: uuid.UUID, *, for_update: bool = False
    ) -> PartDefinition | None:
        row = await fetch_live_row(
            self._conn, "part_definitions", _DEFINITION_COLUMNS, org_id, definition_id, for_update=for_update
        )
        return _definition(row) if row else None

    async def list_page(
        self, org_id: uuid.UUID, page: PageRequest, definition_filter: PartDefinitionFilter
    ) -> Page[PartDefinition]:
        where = Where("org_id = {}", org_id).add("deleted_at IS NULL")
        where.add_if(definition_filter.name, "name = {}")
        where.add_if(definition_filter.category, "category = {}")
        return await fetch_page(
            self._conn,
            f"SELECT {_DEFINITION_COLUMNS} FROM part_definitions",
            where,
            page,
            DEFINITION_SORTS,
            _definition,
        )

    async def update(self, current: PartDefinition, changes: dict[str, Any]) -> PartDefinition:
        assignments, values = set_clause(changes, _DEFINITION_UPDATABLE, 4)
        row = await self._conn.fetchrow(
            f"UPDATE part_definitions SET {assignments} WHERE org_id = $1 AND id = $2 AND version = $3"
            f" AND deleted_at IS NULL RETURNING {_DEFINITION_COLUMNS}",
            current.org_id,
            current.id,
            current.version,
            *values,
        )
        if row is None:
            raise Conflict("the part definition was changed concurrently; read it again")
        return _definition(row)

    async def soft_delete(self, current: PartDefinition, at: datetime) -> PartDefinition:
        row = await soft_delete_row(
            self._conn,
            "part_definitions",
            _DEFINITION_COLUMNS,
            current,
            at,
            "the part definition was changed concurrently; read it again",
        )
        return _definition(row)

    async def live_item_count(self, org_id: uuid.UUID, definition_id: uuid.UUID) -> int:
        count: int = await self._conn.fetchval(
            "SELECT count(*) FROM part_items WHERE org_id = $1 AND part_definition_id = $2 AND deleted_at IS NULL",
            org_id,
            definition_id,
        )
        return count


class PgPartItemRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, org_id: uuid.UUID, new: NewPartItem) -> PartItem:
        # the definition must be live (a deleted one is as good as missing); the share lock keeps
        # a concurrent delete of the definition from passing its no-live-items check
        definition = await self._conn.fetchval(
            "SELECT id FROM part_definitions WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL FOR SHARE",
            org_id,
            new.part_definition_id,
        )
        if definition is None:
            raise ValidationFailed.on_field("part_definition_id", "does not exist in this organization")
        row = await fetch_one(
            self._conn,
            "INSERT INTO part_items (org_id, part_definition_id, serial_number, expiry_date, status)"
            f" VALUES ($1, $2, $3, $4, $5) RETURNING {_ITEM_COLUMNS}",
            org_id,
            new.part_definition_id,
            new.serial_number,
            new.expiry_date,
            new.status.value,
        )
        return _item(row)

    async def add_many(self, org_id: uuid.UUID, news: Sequence[NewPartItem]) -> list[PartItem]:
        """`add` for many items in two statements (the definitions' share locks, one insert), in `news`' order."""
        definition_ids = sorted({new.part_definition_id for new in news})
        live = await self._conn.fetch(
            "SELECT id FROM part_definitions WHERE org_id = $1 AND id = ANY($2::uuid[]) AND deleted_at IS NULL"
            " ORDER BY id FOR SHARE",
            org_id,
            definition_ids,
        )
        if len(live) != len(definition_ids):
            raise ValidationFailed.on_field("part_definition_id", "does not exist in this organization")
        rows = await self._conn.fetch(
            "INSERT INTO part_items (org_id, part_definition_id, serial_number, expiry_date, status)"
            " SELECT $1, definition_id, serial_number, expiry_date, status::part_item_status"
            " FROM unnest($2::uuid[], $3::text[], $4::timestamptz[], $5::text[])"
            f" AS new (definition_id, serial_number, expiry_date, status) RETURNING {_ITEM_COLUMNS}",
            org_id,
            [new.part_definition_id for new in news],
            [new.serial_number for new in news],
            [new.expiry_date for new in news],
            [new.status.value for new in news],
        )
        by_serial = {row["serial_number"]: _item(row) for row in rows}
        return [by_serial[new.serial_number] for new in news]

    async def get(
        self, org_id: uuid.UUID, item_id: uuid.UUID, *, for_update: bool = False, include_deleted: bool = False
    ) -> PartItem | None:
        lock = " FOR UPDATE" if for_update else ""
        live = "" if include_deleted else " AND deleted_at IS NULL"
        row = await self._conn.fetchrow(
            f"SELECT {_ITEM_COLUMNS} FROM part_items WHERE org_id = $1 AND id = $2{live}{lock}",
            org_id,
            item_id,
        )
        return _item(row) if row else None

    async def list_page(self, org_id: uuid.UUID, page: PageRequest, item_filter: PartItemFilter) -> Page[PartItem]:
        where = Where("org_id = {}", org_id).add("deleted_at IS NULL")
        status = item_filter.status.value if item_filter.status else None
        where.add_if(status, "status = {}::part_item_status")
        where.add_if(item_filter.definition_id, "part_definition_id = {}")
        where.add_if(item_filter.expiry_before, "expiry_date < {}")
        return await fetch_page(self._conn, f"SELECT {_ITEM_COLUMNS} FROM part_items", where, page, ITEM_SORTS, _item)

    async def update(self, current: PartItem, changes: dict[str, Any]) -> PartItem:
        values_by_column = {
            key: (value.value if isinstance(value, PartItemStatus) else value) for key, value in changes.items()
        }
        assignments, values = set_clause(values_by_column, _ITEM_UPDATABLE, 4)
        row = await self._conn.fetchrow(
            f"UPDATE part_items SET {assignments} WHERE org_id = $1 AND id = $2 AND version = $3"
            f" AND deleted_at IS NULL RETURNING {_ITEM_COLUMNS}",
            current.org_id,
            current.id,
            current.version,
            *values,
        )
        if row is None:
            raise Conflict("the part item was changed concurrently; read it again")
        return _item(row)

    async def soft_delete(self, current: PartItem, at: datetime) -> PartItem:
        row = await soft_delete_row(
            self._conn,
            "part_items",
            _ITEM_COLUMNS,
            current,
            at,
            "the part item was changed concurrently; read it again",
        )
        return _item(row)


class PgPartReservationRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(
        self, org_id: uuid.UUID, task_id: uuid.UUID, part_item_id: uuid.UUID, quantity: int
    ) -> PartReservation:
        row = await fetch_one(
            self._conn,
            "INSERT INTO part_reservations (org_id, task_id, part_item_id, quantity) VALUES ($1, $2, $3, $4)"
            f" RETURNING {_RESERVATION_COLUMNS}",
            org_id,
            task_id,
            part_item_id,
            quantity,
        )
        return _reservation(row)

    async def get(
        self, org_id: uuid.UUID, reservation_id: uuid.UUID, *, for_update: bool = False
    ) -> PartReservation | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self._conn.fetchrow(
            f"SELECT {_RESERVATION_COLUMNS} FROM part_reservations WHERE org_id = $1 AND id = $2{lock}",
            org_id,
            reservation_id,
        )
        return _reservation(row) if row else None

    async def list_page(
        self, org_id: uuid.UUID, page: PageRequest, reservation_filter: ReservationFilter
    ) -> Page[PartReservation]:
        where = Where("org_id = {}", org_id)
        where.add_if(reservation_filter.task_id, "task_id = {}")
        where.add_if(reservation_filter.part_item_id, "part_item_id = {}")
        state = reservation_filter.state.value if reservation_filter.state else None
        where.add_if(state, "state = {}::reservation_state")
        return await fetch_page(
            self._conn,
            f"SELECT {_RESERVATION_COLUMNS} FROM part_reservations",
            where,
            page,
            RESERVATION_SORTS,
            _reservation,
        )

    async def set_state(self, current: PartReservation, state: ReservationState) -> PartReservation:
        row = await self._conn.fetchrow(
            "UPDATE part_reservations SET state = $4::reservation_state, version = version + 1, updated_at = now()"
            f" WHERE org_id = $1 AND id = $2 AND version = $3 RETURNING {_RESERVATION_COLUMNS}",
            current.org_id,
            current.id,
            current.version,
            state.value,
        )
        if row is None:
            raise Conflict("the reservation was changed concurrently; read it again")
        return _reservation(row)

    async def active_for_item(self, org_id: uuid.UUID, part_item_id: uuid.UUID) -> PartReservation | None:
        row = await self._conn.fetchrow(
            f"SELECT {_RESERVATION_COLUMNS} FROM part_reservations WHERE org_id = $1 AND part_item_id = $2"
            " AND state = 'reserved'",
            org_id,
            part_item_id,
        )
        return _reservation(row) if row else None

    async def task_facts(
        self, org_id: uuid.UUID, task_id: uuid.UUID, *, for_share: bool = False, include_deleted: bool = False
    ) -> TaskFacts | None:
        lock = " FOR SHARE" if for_share else ""
        live = "" if include_deleted else " AND deleted_at IS NULL"
        row = await self._conn.fetchrow(
            "SELECT id, state::text AS state, assigned_mechanic_id FROM maintenance_tasks"
            f" WHERE org_id = $1 AND id = $2{live}{lock}",
            org_id,
            task_id,
        )
        if row is None:
            return None
        return TaskFacts(row["id"], TaskState(row["state"]), row["assigned_mechanic_id"])
