"""The benchmark data set: consistent by construction, and the schema is whole again afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from amss.bench.dataset import Size, generate
from amss.infra.postgres.database import drop_database, ensure_database
from amss.infra.postgres.migrations import Migrator, load_migrations
from tests.backends import Backends, unique_name, with_database

TINY = Size(
    "tiny airline", aircraft=3, tasks=300, compliance=60, part_definitions=4, part_items=40, reservations=80, users=10
)


@pytest.fixture
async def dataset_conn(backends: Backends) -> AsyncIterator[asyncpg.Connection]:
    url = with_database(backends.server_url, unique_name("dataset"))
    await ensure_database(url)
    conn = await asyncpg.connect(url)
    try:
        async with Migrator(conn, load_migrations()) as migrator:
            await migrator.up()
        yield conn
    finally:
        await conn.close()
        await drop_database(url)


async def _schema(conn: asyncpg.Connection) -> list[tuple[str, ...]]:
    indexes = await conn.fetch("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
    triggers = await conn.fetch("SELECT tgname::text, tgenabled::text FROM pg_trigger WHERE NOT tgisinternal")
    return sorted(tuple(row) for row in [*indexes, *triggers])


async def test_the_generated_organizations_are_consistent_and_the_schema_is_restored(
    dataset_conn: asyncpg.Connection,
) -> None:
    conn = dataset_conn
    before = await _schema(conn)
    big, small = await generate(conn, [TINY, Size.small()])
    assert await _schema(conn) == before
    assert await conn.fetchval("SELECT bool_and(indisvalid) FROM pg_index") is True

    for generated in (big, small):
        org, size = generated.org_id, generated.size
        assert await conn.fetchval("SELECT count(*) FROM maintenance_tasks WHERE org_id = $1", org) == size.tasks
        assert await conn.fetchval("SELECT count(*) FROM aircraft WHERE org_id = $1", org) == size.aircraft
        assert await conn.fetchval("SELECT count(*) FROM part_reservations WHERE org_id = $1", org) == size.reservations
        assert generated.audit_rows >= size.tasks * size.audit_per_task
    rows = await conn.fetch(
        "SELECT state::text, count(*) FROM maintenance_tasks WHERE org_id = $1 GROUP BY 1", big.org_id
    )
    states: dict[str, int] = {row[0]: row[1] for row in rows}
    assert states["completed"] > 0.9 * TINY.tasks and states["scheduled"] > 0 and states["cancelled"] > 0

    # what the triggers and foreign keys would have refused, had they been on
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM maintenance_tasks a JOIN maintenance_tasks b ON a.org_id = b.org_id"
            " AND a.aircraft_id = b.aircraft_id AND a.id < b.id AND a.active_window && b.active_window"
        )
        == 0
    )
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM part_reservations r"
            " JOIN part_items i ON i.org_id = r.org_id AND i.id = r.part_item_id"
            " WHERE r.state = 'reserved' AND i.status <> 'in_stock'"
        )
        == 0
    )
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM compliance_items WHERE (sign_off_time IS NULL) <> (result = 'pending')"
        )
        == 0
    )
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM audit_logs l WHERE user_id IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM users u WHERE u.org_id = l.org_id AND u.id = l.user_id)"
        )
        == 0
    )
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM maintenance_tasks t WHERE NOT EXISTS"
            " (SELECT 1 FROM users u WHERE u.org_id = t.org_id AND u.id = t.assigned_mechanic_id"
            " AND u.role = 'mechanic')"
        )
        == 0
    )
