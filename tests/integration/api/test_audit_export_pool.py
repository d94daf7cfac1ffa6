"""Slow export downloads do not take the pool: more exports than pool connections, their readers
paused mid-file, and other requests are still answered."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer

from amss.bootstrap.server import init_server_app
from amss.config import Settings
from tests.api_support import Tenant, call
from tests.clients import ApiClient

POOL_SIZE = 2
# about 24 MB per export: far more than the socket buffers and the client's read-ahead hold, so a
# reader that stops reading leaves the server's handler blocked writing
ROWS = 6000
NOTES_BYTES = 4000


@pytest.fixture
async def small_pool_api(api_settings: Settings) -> AsyncIterator[ApiClient]:
    client = TestClient(
        TestServer(init_server_app(api_settings.model_copy(update={"db_pool_min": 1, "db_pool_max": POOL_SIZE})))
    )
    await client.start_server()
    yield client
    await client.close()


async def test_exports_paused_mid_stream_leave_the_pool_to_other_requests(
    small_pool_api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    await conn.execute(
        "INSERT INTO audit_logs (org_id, entity_type, entity_id, action, details)"
        " SELECT $1, 'aircraft', gen_random_uuid(), 'create', jsonb_build_object('notes', repeat('n', $2))"
        " FROM generate_series(1, $3)",
        tenant.org_id,
        NOTES_BYTES,
        ROWS,
    )
    async with contextlib.AsyncExitStack() as stack:
        readers: list[ClientResponse] = []
        for _ in range(POOL_SIZE * 2 + 1):
            async with asyncio.timeout(10):  # each one starts, though the ones before it hold their pages
                response = await stack.enter_async_context(
                    small_pool_api.get("/api/v1/audit-logs/export", headers=tenant["auditor"].auth)
                )
                assert response.status == 200
                assert (await response.content.readexactly(64)).startswith(b"id,timestamp,")
            readers.append(response)  # and then not read any further for now
        await asyncio.sleep(0.5)  # let every handler fill its socket and block writing
        async with asyncio.timeout(10):
            status, body, _ = await call(small_pool_api, "GET", "/api/v1/audit-logs?limit=1", tenant["scheduler"])
        assert status == 200 and len(body["items"]) == 1
        for response in readers:  # releasing them ends their downloads
            response.close()
