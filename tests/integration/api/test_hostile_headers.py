"""Hostile bytes in every header the API reads, with the mesh on: never a 5xx, and what is kept is safe.

aiohttp hands a header's undecodable bytes over as lone surrogates, which Postgres and every JSON
encoder refuse. Each header is sent, byte for byte over a socket, with bytes that are not UTF-8,
an encoded lone surrogate, C1 control characters, an overlong value, and NUL / control bytes (the
HTTP parser refuses those itself), on an unauthenticated route (login), a command route (PATCH
/aircraft, through the mesh) and a plain write (POST /part-definitions). A header the API only
records (User-Agent) is stored in a safe form; one it acts on is refused with 400 naming it (or
401/415 for credentials and media types); the rest are ignored.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import asyncpg
import orjson
import pytest

from amss.api.rest.cors import ALLOW_HEADERS
from amss.api.rest.header_text import MAX_USER_AGENT
from amss.domain.enums import Role
from tests.api_support import TEST_PASSWORD, Tenant
from tests.clients import ApiClient
from tests.integration.factories import make_aircraft, short_id
from tests.raw_http import RawResponse, request_bytes, send_raw

# every request header the API reads (a header a browser may send, ALLOW_HEADERS, must be here)
HEADERS_READ: Final = (
    "Authorization",
    "Content-Encoding",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "Origin",
    "Prefer",
    "User-Agent",
    "X-Forwarded-For",
    "X-Org-ID",
    "X-Request-ID",
)
# what reaches the application, and the User-Agent an auditor then reads
HOSTILE: Final[dict[str, tuple[bytes, str]]] = {
    "not UTF-8": (b"Mozilla/5.0 (\xdcn\xefcode)", "Mozilla/5.0 (\ufffdn\ufffdcode)"),
    "encoded lone surrogate": (b"x\xed\xb2\x80y", "x\ufffd\ufffd\ufffdy"),
    "C1 controls": (b"a\xc2\x85b\xc2\x9fc", "abc"),
    "overlong": (b"A" * 6000, "A" * MAX_USER_AGENT),
}
# bytes aiohttp's HTTP parser refuses in any header value (a plain-text 400 before the application)
PARSER_REFUSED: Final = {"NUL": b"a\x00b", "control": b"a\x01b", "DEL": b"a\x7fb"}
CLIENT_UA: Final = b"amss-tests/1.0"


@dataclass(frozen=True)
class Target:
    """One route to send the headers to: how to build a fresh valid request, and what it stores."""

    name: str
    method: str
    public: bool
    idempotent: bool
    success: int
    build: Callable[[asyncpg.Connection, Tenant], Awaitable[tuple[str, dict[str, Any]]]]

    @property
    def versioned(self) -> bool:
        return self.method == "PATCH"


async def _login(conn: asyncpg.Connection, crew: Tenant) -> tuple[str, dict[str, Any]]:
    return "/api/v1/auth/login", {"email": crew[Role.SCHEDULER].email, "password": TEST_PASSWORD}


async def _aircraft_update(conn: asyncpg.Connection, crew: Tenant) -> tuple[str, dict[str, Any]]:
    return f"/api/v1/aircraft/{await make_aircraft(conn, crew.org_id)}", {"model": f"A321-{short_id()}"}


async def _definition_create(conn: asyncpg.Connection, crew: Tenant) -> tuple[str, dict[str, Any]]:
    return "/api/v1/part-definitions", {"name": f"hdr-{short_id()}"}


TARGETS: Final = {
    target.name: target
    for target in (
        Target("login", "POST", public=True, idempotent=False, success=200, build=_login),
        Target("command", "PATCH", public=False, idempotent=True, success=200, build=_aircraft_update),
        Target("plain write", "POST", public=False, idempotent=True, success=201, build=_definition_create),
    )
}


def expected_refusal(header: str, target: Target) -> tuple[int, str | None] | None:
    """(status, field named) when the hostile header is refused on the target, None when it is not."""
    if header == "Authorization":
        return None if target.public else (401, None)
    if header == "X-Org-ID":
        return None if target.public else (400, header)
    if header == "Idempotency-Key":
        return (400, header) if target.idempotent else None
    if header == "If-Match":
        return (400, header) if target.versioned else None
    if header == "Content-Type":
        return (415, None)
    if header == "Content-Encoding":
        return (415, header)
    return None  # User-Agent is recorded safely; the others are ignored


def test_every_header_a_browser_may_send_is_attacked() -> None:
    assert set(ALLOW_HEADERS) <= set(HEADERS_READ)


async def _send(
    api: ApiClient, conn: asyncpg.Connection, crew: Tenant, target: Target, header: str, value: bytes
) -> tuple[RawResponse, str]:
    path, body = await target.build(conn, crew)
    headers: dict[str, bytes] = {"Content-Type": b"application/json", "User-Agent": CLIENT_UA, "Prefer": b"wait=10"}
    if not target.public:
        headers["Authorization"] = f"Bearer {crew[Role.SCHEDULER].token}".encode()
    headers[header] = value
    sent = [(name.encode(), text) for name, text in headers.items()]
    assert api.host is not None and api.port is not None
    response = await send_raw(api.host, api.port, request_bytes(target.method, path, sent, orjson.dumps(body)))
    return response, path


async def _stored_user_agent(conn: asyncpg.Connection, crew: Tenant, target: Target, response: RawResponse) -> Any:
    """The User-Agent the request's write recorded: its refresh token's, or its audit row's."""
    if target.public:
        row = await conn.fetchrow(
            "SELECT user_agent FROM refresh_tokens WHERE user_id = $1 ORDER BY issued_at DESC LIMIT 1",
            crew[Role.SCHEDULER].user_id,
        )
    else:
        row = await conn.fetchrow(
            "SELECT user_agent FROM audit_logs WHERE org_id = $1 AND request_id = $2",
            crew.org_id,
            uuid.UUID(response.headers["x-request-id"]),
        )
    assert row is not None, f"{target.name}: the write recorded nothing"
    return row["user_agent"]


@pytest.mark.parametrize("target_name", sorted(TARGETS))
@pytest.mark.parametrize("header", HEADERS_READ)
async def test_hostile_header_bytes_are_never_a_5xx(
    mesh_api: ApiClient, conn: asyncpg.Connection, crew: Tenant, header: str, target_name: str
) -> None:
    target = TARGETS[target_name]
    refusal = expected_refusal(header, target)
    for what, (value, recorded) in HOSTILE.items():
        case = f"{header} {what} on {target.name}"
        response, _ = await _send(mesh_api, conn, crew, target, header, value)
        if refusal is not None:
            status, field = refusal
            body = response.json()
            assert response.status == status, (case, response)
            assert isinstance(body, dict) and {"error", "code", "request_id"} <= set(body), (case, body)
            if field is not None:
                assert field in body.get("details", {}).get("fields", {}), (case, body)
            continue
        assert response.status == target.success, (case, response)
        uuid.UUID(response.headers["x-request-id"])  # a bad X-Request-ID is replaced by a fresh id
        expected_user_agent = recorded if header == "User-Agent" else CLIENT_UA.decode()
        assert await _stored_user_agent(conn, crew, target, response) == expected_user_agent, case
        assert "access-control-allow-origin" not in response.headers, case
    for what, value in PARSER_REFUSED.items():
        response, _ = await _send(mesh_api, conn, crew, target, header, value)
        assert response.status == 400, (f"{header} {what} on {target.name}", response)
