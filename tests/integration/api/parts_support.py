"""Helpers of the parts API tests: a reservable task and item, audit rows and outbox events of an entity."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from tests.integration.factories import make_aircraft, make_part_item, make_task, soon


async def reservable(conn: asyncpg.Connection, org_id: uuid.UUID, **task_values: Any) -> tuple[uuid.UUID, uuid.UUID]:
    """A task (scheduled unless told) on an aircraft of its own and an in-stock part item."""
    aircraft_id = await make_aircraft(conn, org_id)
    task_id = await make_task(conn, org_id, aircraft_id, soon(48), soon(50), **task_values)
    return task_id, await make_part_item(conn, org_id)


async def audit_rows(conn: asyncpg.Connection, entity_type: str, entity_id: str | uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT action::text AS action, entity_version, user_id, details FROM audit_logs"
        ' WHERE entity_type = $1 AND entity_id = $2 ORDER BY entity_version, "timestamp"',
        entity_type,
        uuid.UUID(str(entity_id)),
    )


async def events(conn: asyncpg.Connection, aggregate_id: str | uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT event_type, aggregate_type, dedupe_key, payload FROM outbox_events WHERE aggregate_id = $1"
        " ORDER BY created_at, dedupe_key",
        uuid.UUID(str(aggregate_id)),
    )


async def item_row(conn: asyncpg.Connection, item_id: str | uuid.UUID) -> asyncpg.Record:
    row = await conn.fetchrow(
        "SELECT status::text AS status, version, deleted_at FROM part_items WHERE id = $1", uuid.UUID(str(item_id))
    )
    assert row is not None
    return row
