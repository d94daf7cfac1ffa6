"""The API with AMSS_MESH on and a MeshWorker in this process, on a Redis key space of the test's own.

The worker runs the handlers the registry builds from the settings and its Redis client, so a
request takes the production path: command row, partition stream, the actor, the executor's
transaction, the reply stream. Test modules import the fixtures they use.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import redis.asyncio as redis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from amss.actors.metrics import MeshMetrics
from amss.actors.node import MeshWorker
from amss.actors.registry import command_handlers
from amss.bootstrap.commands import mesh_config
from amss.bootstrap.server import init_server_app
from amss.config import Settings
from amss.infra.postgres.command_log import PgCommandLog
from amss.infra.postgres.pool import create_pool
from amss.infra.redis.batching import PipelineBatcher
from amss.infra.redis.client import create_redis
from amss.infra.redis.keys import KeySpace
from amss.infra.redis.locks import RedisPartItemLocks
from tests.api_support import Tenant, make_tenant
from tests.backends import Backends
from tests.clients import ApiClient
from tests.mesh_support import wait_until

PARTITIONS = 4


@pytest.fixture
async def mesh_settings(api_settings: Settings, redis_client: redis.Redis) -> AsyncIterator[Settings]:
    keys = KeySpace(f"api-mesh-{uuid.uuid4().hex[:8]}")
    yield api_settings.model_copy(
        update={
            "amss_mesh": True,
            "amss_redis_prefix": keys.prefix,
            "amss_partitions": PARTITIONS,
            "worker_id": f"api-mesh-worker-{uuid.uuid4().hex[:6]}",
        }
    )
    async for key in redis_client.scan_iter(match=keys.pattern, count=500):
        await redis_client.delete(key)


@pytest.fixture
async def worker(mesh_settings: Settings, database_url: str, backends: Backends) -> AsyncIterator[MeshWorker]:
    pool = await create_pool(database_url, min_size=1, max_size=12)
    client = create_redis(backends.redis_url)
    running = MeshWorker(
        mesh_config(mesh_settings),
        PgCommandLog(pool),
        client,
        KeySpace(mesh_settings.amss_redis_prefix),
        command_handlers(mesh_settings, RedisPartItemLocks(client, KeySpace(mesh_settings.amss_redis_prefix))),
        MeshMetrics.register(CollectorRegistry()),
        PipelineBatcher(client),
    )
    try:
        await running.start()

        async def owns_all() -> bool:
            return len(running.owned_partitions) == PARTITIONS

        await wait_until(owns_all, "the worker to own every partition", within=20)
        yield running
    finally:
        await running.stop()
        await client.aclose()
        await pool.close()


@pytest.fixture
async def mesh_app(mesh_settings: Settings) -> web.Application:
    return init_server_app(mesh_settings)


@pytest.fixture
async def mesh_api(mesh_app: web.Application, worker: MeshWorker) -> AsyncIterator[ApiClient]:
    client = TestClient(TestServer(mesh_app))
    await client.start_server()
    yield client
    await client.close()


@pytest.fixture
async def crew(conn: asyncpg.Connection, mesh_app: web.Application, test_password_hash: str) -> Tenant:
    tenant = await make_tenant(conn, mesh_app, test_password_hash)
    await conn.execute(
        "UPDATE org_policies SET api_rate_limit_per_min = 1000000, rate_limits = '{}'::jsonb WHERE org_id = $1",
        tenant.org_id,
    )
    return tenant
