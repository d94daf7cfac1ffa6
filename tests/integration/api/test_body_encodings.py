"""Request bodies in every Content-Encoding, on every route that reads a body: never a 500.

A body that does not decode is 400 VALIDATION_ERROR, an encoding the API does not decode is 415
UNSUPPORTED_MEDIA_TYPE, a body too large once decoded is 413, each in the error shape naming
Content-Encoding; gzip and deflate bodies are read as their JSON. A broken chunked body is a
400 too. None of it logs an ERROR. The routes come from the route table.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import zlib
from collections.abc import Callable
from typing import Any, Final

import asyncpg
import orjson
import pytest

from amss.config import Settings
from amss.observability.client_errors import log_malformed_requests_as_warnings
from tests.api_support import Member, Tenant, call
from tests.clients import ApiClient
from tests.integration.api.hostile_input_support import caller_of, valid_request
from tests.integration.api.route_samples import SampleContext, declared_routes, raise_rate_limits

ROUTES = declared_routes()
# JSON bodies (an upload's multipart body has its own tests: tests/integration/imports/test_upload_edges.py)
WITH_BODY = sorted(
    name
    for name, spec in ROUTES.items()
    if spec.request_model is not None and spec.request_media_type == "application/json"
)
FIELD: Final = "Content-Encoding"
# (Content-Encoding, body): bodies that do not decode in the coding they claim
UNDECODABLE: Final = {
    "garbage gzip": ("gzip", b"abcd"),
    "garbage x-gzip": ("x-gzip", b"\x1f\x8b\x08garbage"),
    "garbage deflate": ("deflate", b"abcd"),
    "truncated gzip": ("gzip", gzip.compress(b'{"a": "' + b"x" * 500 + b'"}')[:-12]),
    "gzip with trailing bytes": ("gzip", gzip.compress(b"{}") + b"trailing"),
    "garbage after identity": ("identity, gzip", b"abcd"),
}
UNSUPPORTED: Final = ("br", "zstd", "compress", "gzip, gzip", "deflate, gzip", "exotic")


@pytest.fixture
async def home(conn: asyncpg.Connection, tenant: Tenant) -> Tenant:
    await raise_rate_limits(conn, tenant.org_id)
    return tenant


@pytest.fixture
def errors_logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """ERROR records, as the server logs them (aiohttp's parse errors are warnings there too)."""
    log_malformed_requests_as_warnings()
    caplog.set_level(logging.INFO)
    return caplog


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]


async def _prepared(conn: asyncpg.Connection, home: Tenant, name: str) -> tuple[str, str, Member | None, Any]:
    spec = ROUTES[name]
    member = caller_of(spec, home)
    ctx = SampleContext(conn, member, home) if member is not None else None
    request = await valid_request(spec, ctx)
    return spec.method, request.path, member, request.json


async def _send(
    api: ApiClient, method: str, path: str, member: Member | None, coding: str, body: bytes
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", FIELD: coding}
    status, answered, _ = await call(api, method, path, member, data=body, headers=headers)
    return status, answered


def _assert_refused(status: int, body: Any, expected: int, code: str, case: str) -> None:
    assert status == expected, (case, status, body)
    assert isinstance(body, dict) and body.get("code") == code, (case, body)
    assert {"error", "code", "request_id"} <= set(body), (case, body)
    assert FIELD in body.get("details", {}).get("fields", {}), (case, body)


@pytest.mark.parametrize("route", WITH_BODY)
async def test_bodies_that_do_not_decode_are_400(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, errors_logged: pytest.LogCaptureFixture, route: str
) -> None:
    method, path, member, _ = await _prepared(conn, home, route)
    for what, (coding, body) in UNDECODABLE.items():
        status, answered = await _send(api, method, path, member, coding, body)
        _assert_refused(status, answered, 400, "VALIDATION_ERROR", f"{route} {what}")
    assert _errors(errors_logged) == []


@pytest.mark.parametrize("route", WITH_BODY)
async def test_encodings_the_api_does_not_decode_are_415(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, errors_logged: pytest.LogCaptureFixture, route: str
) -> None:
    method, path, member, json = await _prepared(conn, home, route)
    for coding in UNSUPPORTED:
        status, answered = await _send(api, method, path, member, coding, orjson.dumps(json))
        _assert_refused(status, answered, 415, "UNSUPPORTED_MEDIA_TYPE", f"{route} {coding}")
    assert _errors(errors_logged) == []


@pytest.mark.parametrize("route", WITH_BODY)
async def test_a_body_too_large_once_decoded_is_413(
    api: ApiClient,
    api_settings: Settings,
    conn: asyncpg.Connection,
    home: Tenant,
    errors_logged: pytest.LogCaptureFixture,
    route: str,
) -> None:
    method, path, member, _ = await _prepared(conn, home, route)
    bomb = gzip.compress(b'{"a": "' + b" " * (api_settings.max_body_bytes + 1) + b'"}')
    assert len(bomb) < api_settings.max_body_bytes // 10
    status, answered = await _send(api, method, path, member, "gzip", bomb)
    _assert_refused(status, answered, 413, "PAYLOAD_TOO_LARGE", route)
    assert _errors(errors_logged) == []


def _deflate(body: bytes, window_bits: int) -> bytes:
    compressor = zlib.compressobj(wbits=window_bits)
    return compressor.compress(body) + compressor.flush()


@pytest.mark.parametrize("route", WITH_BODY)
async def test_gzip_and_deflate_bodies_are_read_as_their_json(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, route: str
) -> None:
    encoders: dict[str, Callable[[bytes], bytes]] = {
        "gzip": gzip.compress,
        "deflate": lambda body: _deflate(body, zlib.MAX_WBITS),
        "raw deflate": lambda body: _deflate(body, -zlib.MAX_WBITS),
        "identity": lambda body: body,
    }
    for name, encode in encoders.items():
        method, path, member, json = await _prepared(conn, home, route)  # a fresh valid request each time
        coding = "deflate" if name == "raw deflate" else name
        status, answered = await _send(api, method, path, member, coding, encode(orjson.dumps(json)))
        refused = isinstance(answered, dict) and answered.get("code") in ("VALIDATION_ERROR", "UNSUPPORTED_MEDIA_TYPE")
        assert status < 500 and not refused, (route, name, status, answered)
        if member is not None:
            assert status < 300, (route, name, status, answered)


async def test_a_broken_chunked_body_is_400(
    api: ApiClient, home: Tenant, errors_logged: pytest.LogCaptureFixture
) -> None:
    """aiohttp's parser refuses it (a plain-text 400, logged as a warning by the server's filter).

    A broken chunk that arrives after the handler started reading is not seen by the handler
    (aiohttp queues the parse error and never fails the body being read): the request waits until
    the client hangs up, which is a client-closed request (test_client_disconnect.py)."""
    assert api.host is not None and api.port is not None
    head = (
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: amss.test\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    for broken in (b"zz\r\nabc\r\n0\r\n\r\n", b"3\r\nabcdef\r\n0\r\n\r\n", b"-1\r\nabc\r\n0\r\n\r\n"):
        reader, writer = await asyncio.open_connection(api.host, api.port)
        try:
            writer.write(head + broken)
            await writer.drain()
            async with asyncio.timeout(10):
                answer = await reader.read()
        finally:
            writer.close()
            await writer.wait_closed()
        assert answer.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request"), (broken, answer)
    assert _errors(errors_logged) == []
