"""The harness itself: the run's database is fresh and fully migrated, Redis answers."""

from __future__ import annotations

import asyncpg
import redis.asyncio as redis

from amss.infra.postgres.migrations import load_migrations
from amss.infra.redis.keys import KeySpace


async def test_run_database_is_fully_migrated(conn: asyncpg.Connection) -> None:
    applied = await conn.fetch("SELECT version_id FROM goose_db_version WHERE is_applied AND version_id > 0")
    assert sorted(row["version_id"] for row in applied) == [m.version for m in load_migrations()]


async def test_redis_answers_in_a_private_key_space(redis_client: redis.Redis, key_space: KeySpace) -> None:
    key = key_space.lock("harness")
    await redis_client.set(key, b"1", px=10_000)
    assert await redis_client.get(key) == b"1"
    assert key.startswith(key_space.prefix) and key_space.prefix != "amss"
