"""What every process holds, built in order (Postgres, Redis, the batcher) and closed in reverse."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import asyncpg
from redis.asyncio import Redis

from amss.app.clock import Clock, utc_now
from amss.config import Settings
from amss.infra.postgres.pool import create_pool
from amss.infra.redis.batching import PipelineBatcher
from amss.infra.redis.client import create_redis
from amss.infra.redis.keys import KeySpace


@dataclass(frozen=True)
class Resources:
    settings: Settings
    clock: Clock
    keys: KeySpace
    pool: asyncpg.Pool
    redis: Redis
    # the hot paths' Redis commands (rate limits, command XADDs, replies), coalesced per loop turn
    batcher: PipelineBatcher


def key_space(settings: Settings) -> KeySpace:
    """The process's one key space (AMSS_REDIS_PREFIX)."""
    return KeySpace(settings.amss_redis_prefix)


@asynccontextmanager
async def open_resources(
    settings: Settings, *, clock: Clock = utc_now, keys: KeySpace | None = None
) -> AsyncIterator[Resources]:
    """The pool, then the Redis client and its batcher; closed in reverse when the block exits."""
    async with AsyncExitStack() as stack:
        pool = await create_pool(settings.db_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max)
        stack.push_async_callback(pool.close)
        client = create_redis(settings.effective_redis_url)
        stack.push_async_callback(client.aclose)
        batcher = PipelineBatcher(client)
        stack.push_async_callback(batcher.close)
        yield Resources(settings, clock, keys or key_space(settings), pool, client, batcher)
