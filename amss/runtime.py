"""Process resources shared by the server and the worker: typed app keys and their lifecycles.

Each resource is created in an aiohttp `cleanup_ctx` generator at start-up (never at import)
and closed at shutdown, in reverse order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import redis.asyncio as redis
from aiohttp import web
from prometheus_client import CollectorRegistry

from amss.config import Settings
from amss.infra.postgres.pool import create_pool
from amss.infra.redis.batching import PipelineBatcher
from amss.infra.redis.client import create_redis

SETTINGS = web.AppKey("settings", Settings)
PG_POOL = web.AppKey("pg_pool", asyncpg.Pool)
REDIS = web.AppKey("redis", redis.Redis)
# the hot paths' Redis commands (rate limits, command XADDs, replies), coalesced per loop turn
REDIS_BATCHER = web.AppKey("redis_batcher", PipelineBatcher)
METRICS_REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)


async def postgres_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    pool = await create_pool(settings.db_url, min_size=settings.db_pool_min, max_size=settings.db_pool_max)
    app[PG_POOL] = pool
    try:
        yield
    finally:
        await pool.close()


async def redis_context(app: web.Application) -> AsyncIterator[None]:
    client = create_redis(app[SETTINGS].effective_redis_url)
    app[REDIS] = client
    app[REDIS_BATCHER] = batcher = PipelineBatcher(client)
    try:
        yield
    finally:
        await batcher.close()
        await client.aclose()


def base_application(
    settings: Settings, *, middlewares: list[Any] | None = None, client_max_size: int | None = None
) -> web.Application:
    """An application holding settings, a metrics registry, and the Postgres and Redis lifecycles."""
    app = web.Application(middlewares=middlewares or [], client_max_size=client_max_size or settings.max_body_bytes)
    app[SETTINGS] = settings
    app[METRICS_REGISTRY] = CollectorRegistry()
    contexts: list[Callable[[web.Application], AsyncIterator[None]]] = [postgres_context, redis_context]
    app.cleanup_ctx.extend(contexts)
    return app
