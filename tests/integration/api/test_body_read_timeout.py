"""A client that stops sending in the middle of its body is answered 408 REQUEST_TIMEOUT after
BODY_READ_TIMEOUT, in the documented error shape, instead of holding its connection and handler forever."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import orjson
import pytest
from aiohttp import web

from amss.bootstrap.server import init_server_app
from amss.config import Settings
from amss.domain.enums import Role
from tests.api_support import Tenant
from tests.integration.api.route_samples import raise_rate_limits
from tests.integration.factories import make_aircraft
from tests.raw_http import parse_response


@pytest.fixture
async def port(api_settings: Settings) -> AsyncIterator[int]:
    app = init_server_app(api_settings.model_copy(update={"body_read_timeout": timedelta(seconds=0.5)}))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield int(runner.addresses[0][1])
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("sent", [b"", b'{"model": "A3'], ids=["nothing", "part"])
async def test_a_stalled_body_is_a_408(port: int, conn: asyncpg.Connection, tenant: Tenant, sent: bytes) -> None:
    await raise_rate_limits(conn, tenant.org_id)
    aircraft_id = await make_aircraft(conn, tenant.org_id)
    before = await conn.fetchrow("SELECT model, version FROM aircraft WHERE id = $1", aircraft_id)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            f"PATCH /api/v1/aircraft/{aircraft_id} HTTP/1.1\r\nHost: amss.test\r\n".encode()
            + b"Authorization: Bearer "
            + tenant[Role.SCHEDULER].token.encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            + sent
        )
        await writer.drain()
        async with asyncio.timeout(15):
            head = await reader.readuntil(b"\r\n\r\n")
            response = parse_response(head)
            body = await reader.readexactly(int(response.headers["content-length"]))
    finally:
        writer.transport.abort()
    assert response.status == 408
    payload = orjson.loads(body)
    assert payload["code"] == "REQUEST_TIMEOUT"
    assert payload["request_id"]
    # nothing was changed by the request that never arrived
    assert await conn.fetchrow("SELECT model, version FROM aircraft WHERE id = $1", aircraft_id) == before
