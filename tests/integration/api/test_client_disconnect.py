"""A client that hangs up is not a server failure: no 503, no 'dependency unavailable' warning.

Closing the connection in the middle of an audit export, or after sending fewer bytes than its
Content-Length, is logged at INFO and counted in `requests_total` with status 499 (client closed
request), whether the server cancels the handler of a client that left (aiohttp's
handler_cancellation, as its test server does) or lets it run on into the failure (amss-server).
A real Postgres or Redis outage is still 503 (test_errors.py, test_rate_limits.py).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp import web

from amss.api.rest.errors import CLIENT_CLOSED_STATUS
from amss.bootstrap.server import init_server_app
from amss.config import Settings
from amss.domain.enums import Role
from amss.runtime import METRICS_REGISTRY
from tests.api_support import Tenant
from tests.integration.api.route_samples import raise_rate_limits
from tests.integration.factories import make_aircraft

ROWS = 6000
NOTES_BYTES = 4000  # about 24 MB: more than the socket buffers hold, so the export is mid-way when the client leaves


@pytest.fixture(params=["handler runs on", "handler cancelled"])
async def server(request: pytest.FixtureRequest, api_settings: Settings) -> AsyncIterator[tuple[web.Application, int]]:
    """The API on a port of its own, with or without aiohttp's handler cancellation."""
    app = init_server_app(api_settings)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=request.param == "handler cancelled")
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield app, int(runner.addresses[0][1])
    finally:
        await runner.cleanup()


def _count(app: web.Application, route: str, method: str, status: int) -> float:
    labels = {"route": route, "method": method, "status": str(status)}
    return app[METRICS_REGISTRY].get_sample_value("requests_total", labels) or 0.0


async def _counted(
    app: web.Application, route: str, method: str, at_least: float, caplog: pytest.LogCaptureFixture
) -> None:
    """Until the request is counted as client-closed (the handler notices the hang-up on its own time)."""
    for _ in range(400):
        if _count(app, route, method, CLIENT_CLOSED_STATUS) >= at_least:
            return
        await asyncio.sleep(0.05)
    seen = [(r.getMessage(), getattr(r, "status", None), getattr(r, "error", None)) for r in caplog.records]
    raise AssertionError(f"{method} {route} was not counted as {CLIENT_CLOSED_STATUS}: {seen}")


def _assert_not_a_server_failure(caplog: pytest.LogCaptureFixture, app: web.Application, route: str) -> None:
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name.startswith("amss")]
    assert problems == [], [(r.levelname, r.getMessage(), getattr(r, "error", None)) for r in problems]
    assert [r for r in caplog.records if r.getMessage() == "dependency unavailable"] == []
    for method in ("GET", "PATCH"):
        assert _count(app, route, method, 503) == 0
        assert _count(app, route, method, 500) == 0
    closed = [r for r in caplog.records if getattr(r, "status", None) == CLIENT_CLOSED_STATUS]
    assert closed and all(r.levelno == logging.INFO for r in closed)


async def test_closing_an_export_mid_download_is_a_client_closed_request(
    server: tuple[web.Application, int],
    conn: asyncpg.Connection,
    tenant: Tenant,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    await conn.execute(
        "INSERT INTO audit_logs (org_id, entity_type, entity_id, action, details)"
        " SELECT $1, 'aircraft', gen_random_uuid(), 'create', jsonb_build_object('notes', repeat('n', $2))"
        " FROM generate_series(1, $3)",
        tenant.org_id,
        NOTES_BYTES,
        ROWS,
    )
    api_app, port = server
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        b"GET /api/v1/audit-logs/export HTTP/1.1\r\nHost: amss.test\r\nAuthorization: Bearer "
        + tenant[Role.AUDITOR].token.encode()
        + b"\r\n\r\n"
    )
    await writer.drain()
    async with asyncio.timeout(10):
        assert (await reader.readuntil(b"\r\n")).startswith(b"HTTP/1.1 200")
        await reader.readexactly(4096)  # the download has begun
    writer.transport.abort()  # and the client goes away mid-file
    await _counted(api_app, "/api/v1/audit-logs/export", "GET", 1, caplog)
    _assert_not_a_server_failure(caplog, api_app, "/api/v1/audit-logs/export")


async def test_hanging_up_mid_body_is_a_client_closed_request(
    server: tuple[web.Application, int],
    conn: asyncpg.Connection,
    tenant: Tenant,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    await raise_rate_limits(conn, tenant.org_id)
    aircraft_id = await make_aircraft(conn, tenant.org_id)
    api_app, port = server
    for close in ("close", "abort"):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            f"PATCH /api/v1/aircraft/{aircraft_id} HTTP/1.1\r\nHost: amss.test\r\n".encode()
            + b"Authorization: Bearer "
            + tenant[Role.SCHEDULER].token.encode()
            + b"\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            + b'{"model": "A3'
        )
        await writer.drain()
        await asyncio.sleep(0.3)  # the handler is waiting for the rest of the body
        if close == "abort":
            writer.transport.abort()
        else:
            writer.close()
        await _counted(api_app, "/api/v1/aircraft/{id}", "PATCH", 1 if close == "close" else 2, caplog)
        del reader
    _assert_not_a_server_failure(caplog, api_app, "/api/v1/aircraft/{id}")
