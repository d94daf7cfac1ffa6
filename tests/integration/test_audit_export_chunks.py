"""The audit export reads in keyset chunks, each on its own short transaction: every row once, in
order, bounded at the export's start, and no pool connection held while the reader is paused."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from amss.app.audit_logs import AuditLogService
from amss.domain.audit import AuditFilter, AuditRecord
from amss.domain.enums import Role
from amss.domain.principal import Principal
from amss.infra.postgres.pool import create_pool
from amss.infra.postgres.uow import PostgresUnitOfWork
from tests.integration.factories import make_audit_log, make_org

EVERYTHING = AuditFilter(None, None, None, None, None, None)


def _auditor(org_id: uuid.UUID) -> Principal:
    return Principal(user_id=uuid.uuid4(), home_org_id=org_id, role=Role.AUDITOR)


def _service(pool: asyncpg.Pool, chunk_rows: int) -> AuditLogService:
    return AuditLogService(lambda: PostgresUnitOfWork(pool), export_chunk_rows=chunk_rows)


async def _seed(conn: asyncpg.Connection, org_id: uuid.UUID, count: int) -> list[tuple[datetime, uuid.UUID]]:
    """`count` rows in the past, three to a timestamp, so the id tiebreaker decides within a chunk and across."""
    base = datetime.now(UTC) - timedelta(hours=1)
    keys = []
    for index in range(count):
        at = base + timedelta(seconds=index // 3)
        row_id = await make_audit_log(conn, org_id, timestamp=at, entity_version=index)
        keys.append((at, row_id))
    return sorted(keys)


async def _collect(records: AsyncIterator[AuditRecord]) -> list[AuditRecord]:
    return [record async for record in records]


@pytest.fixture
async def org_id(conn: asyncpg.Connection) -> uuid.UUID:
    return await make_org(conn)


@pytest.mark.parametrize("chunk_rows", [1, 4, 6, 500])
async def test_a_multi_chunk_export_returns_every_row_once_in_order(
    pg_pool: asyncpg.Pool, conn: asyncpg.Connection, org_id: uuid.UUID, chunk_rows: int
) -> None:
    keys = await _seed(conn, org_id, 24)
    await make_audit_log(conn, await make_org(conn))  # another organization's row never shows
    records = await _collect(_service(pg_pool, chunk_rows).export(_auditor(org_id), EVERYTHING))
    assert [(record.timestamp, record.id) for record in records] == keys
    assert {record.org_id for record in records} == {org_id}


async def test_the_export_keeps_the_filters_across_chunks(
    pg_pool: asyncpg.Pool, conn: asyncpg.Connection, org_id: uuid.UUID
) -> None:
    keys = await _seed(conn, org_id, 12)
    since, until = keys[2][0], keys[10][0]
    audit_filter = AuditFilter(None, None, None, None, since, until)
    records = await _collect(_service(pg_pool, 2).export(_auditor(org_id), audit_filter))
    assert [(record.timestamp, record.id) for record in records] == [k for k in keys if since <= k[0] < until]


async def test_rows_appended_during_the_download_are_not_in_it_and_nothing_repeats(
    pg_pool: asyncpg.Pool, conn: asyncpg.Connection, org_id: uuid.UUID
) -> None:
    keys = await _seed(conn, org_id, 10)
    records = _service(pg_pool, 3).export(_auditor(org_id), EVERYTHING)
    seen = []
    async with contextlib.aclosing(records):
        async for record in records:
            seen.append((record.timestamp, record.id))
            if len(seen) in (1, 4, 7):
                await make_audit_log(conn, org_id)  # committed now, stamped after the export's start
    assert seen == keys


async def test_paused_exports_hold_no_pool_connection(database_url: str, conn: asyncpg.Connection) -> None:
    org_id = await make_org(conn)
    await _seed(conn, org_id, 9)
    pool = await create_pool(database_url, min_size=1, max_size=2)
    try:
        service = _service(pool, 3)
        exports = [service.export(_auditor(org_id), EVERYTHING) for _ in range(5)]  # more than the pool
        for export in exports:
            await asyncio.wait_for(anext(export), 5)  # each mid-chunk, then left waiting for its reader
        async with asyncio.timeout(5):
            async with PostgresUnitOfWork(pool) as uow:
                assert await uow.connection.fetchval("SELECT 1") == 1
        for export in exports:  # and each carries on where it paused
            rest = await asyncio.wait_for(_collect(export), 5)
            assert len(rest) == 8
    finally:
        await pool.close()
