"""Fixtures of the event pipeline tests: a database of their own (the publisher claims across
organizations, so other tests' events must not be in it), a Redis key space per test, and receivers."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import redis.asyncio as redis

from amss.infra.postgres.pool import create_pool, init_connection
from amss.infra.redis.keys import KeySpace
from tests.backends import Backends, migrated_database
from tests.events_support import MovableClock, Receiver, receiver
from tests.integration.factories import make_org


@pytest.fixture(scope="module")
async def events_db(backends: Backends) -> AsyncIterator[str]:
    async with migrated_database(backends.server_url, "events") as url:
        yield url


@pytest.fixture(scope="module")
async def events_pool(events_db: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(events_db, min_size=1, max_size=12, session={"statement_timeout": "10000ms"})
    yield pool
    await pool.close()


@pytest.fixture
async def db(events_db: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(events_db)
    await init_connection(connection)
    yield connection
    # what a test left waiting is settled, so the next test's publishers and dispatchers do not pick it up
    await connection.execute(
        "UPDATE outbox_events SET processed_at = now(), locked_at = NULL, locked_by = NULL WHERE processed_at IS NULL"
    )
    await connection.execute("UPDATE webhook_deliveries SET status = 'failed' WHERE status = 'pending'")
    await connection.close()


@pytest.fixture
async def keys(redis_client: redis.Redis) -> AsyncIterator[KeySpace]:
    space = KeySpace(f"events-{uuid.uuid4().hex[:10]}")
    yield space
    async for key in redis_client.scan_iter(match=space.pattern, count=500):
        await redis_client.delete(key)


@pytest.fixture
async def org(db: asyncpg.Connection) -> uuid.UUID:
    return await make_org(db)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def hook() -> AsyncIterator[Receiver]:
    async with receiver() as running:
        yield running
