"""An API and an import worker in this process over a Redis key space of the test's own (mesh off: the worker's
bus runs the rows' commands in its own executor, the same path a mesh actor takes)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
import redis.asyncio as redis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from amss.bootstrap.server import init_server_app
from amss.bootstrap.worker import Worker, open_worker
from amss.config import Settings
from amss.infra.redis.keys import KeySpace
from tests.api_support import Tenant, make_tenant
from tests.clients import ApiClient


@pytest.fixture
async def import_settings(api_settings: Settings, redis_client: redis.Redis) -> AsyncIterator[Settings]:
    keys = KeySpace(f"imports-{uuid.uuid4().hex[:8]}")
    yield api_settings.model_copy(
        update={
            "amss_mesh": False,
            "amss_redis_prefix": keys.prefix,
            "worker_id": f"import-worker-{uuid.uuid4().hex[:6]}",
            "amss_import_lease_ttl": timedelta(seconds=2),
            "amss_import_redrive_after": timedelta(seconds=1),
            "amss_import_batch_rows": 50,
            "max_upload_bytes": 256 * 1024,
        }
    )
    async for key in redis_client.scan_iter(match=keys.pattern, count=500):
        await redis_client.delete(key)


@pytest.fixture
async def import_app(import_settings: Settings) -> web.Application:
    return init_server_app(import_settings)


@pytest.fixture
async def import_api(import_app: web.Application) -> AsyncIterator[ApiClient]:
    client = TestClient(TestServer(import_app))
    await client.start_server()
    yield client
    await client.close()


@pytest.fixture
async def import_worker(import_settings: Settings) -> AsyncIterator[Worker]:
    async with open_worker(import_settings, CollectorRegistry()) as worker:
        yield worker


@pytest.fixture
async def crew(conn: asyncpg.Connection, import_app: web.Application, test_password_hash: str) -> Tenant:
    return await make_tenant(conn, import_app, test_password_hash)
