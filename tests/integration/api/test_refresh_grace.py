"""REFRESH_REUSE_GRACE: a client that races itself or retries a refresh stays logged in; reuse after the
grace, or of a logged-out family, still revokes; a grace of 0 is the strict one-use rule."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from amss.bootstrap.server import init_server_app
from amss.config import Settings
from tests.api_support import TEST_PASSWORD, Member, Tenant, call
from tests.clients import ApiClient


@pytest.fixture
async def strict_api(api_settings: Settings) -> AsyncIterator[ApiClient]:
    client = TestClient(
        TestServer(init_server_app(api_settings.model_copy(update={"refresh_reuse_grace": timedelta(0)})))
    )
    await client.start_server()
    yield client
    await client.close()


async def _login(api: ApiClient, member: Member) -> dict[str, Any]:
    status, body, _ = await call(
        api, "POST", "/api/v1/auth/login", json={"email": member.email, "password": TEST_PASSWORD}
    )
    assert status == 200, body
    return dict(body)


async def _refresh(api: ApiClient, refresh_token: str) -> tuple[int, Any]:
    status, body, _ = await call(api, "POST", "/api/v1/auth/refresh", json={"refresh_token": refresh_token})
    return status, body


def _digest(refresh_token: str) -> bytes:
    return hashlib.sha256(refresh_token.encode()).digest()


async def _family_rows(conn: asyncpg.Connection, refresh_token: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, used_at, revoked_at FROM refresh_tokens WHERE family_id ="
        " (SELECT family_id FROM refresh_tokens WHERE token_hash = $1)",
        _digest(refresh_token),
    )


async def _end_grace(conn: asyncpg.Connection, refresh_token: str) -> None:
    """Move the token's first use 11 s into the past: past the default grace of 10 s."""
    await conn.execute(
        "UPDATE refresh_tokens SET used_at = used_at - interval '11 seconds' WHERE token_hash = $1",
        _digest(refresh_token),
    )


@pytest.mark.parametrize("racers", [4, 10])
async def test_concurrent_refreshes_of_one_token_all_succeed_and_the_family_stays_valid(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection, racers: int
) -> None:
    first = await _login(api, tenant["mechanic"])
    results = await asyncio.gather(*(_refresh(api, first["refresh_token"]) for _ in range(racers)))
    assert [status for status, _ in results] == [200] * racers, results
    pairs = [body for _, body in results]
    assert len({pair["refresh_token"] for pair in pairs}) == racers
    for pair in pairs:
        status, _, _ = await call(
            api, "GET", "/api/v1/aircraft", headers={"Authorization": f"Bearer {pair['access_token']}"}
        )
        assert status == 200
        status, body = await _refresh(api, pair["refresh_token"])
        assert status == 200, body
    rows = await _family_rows(conn, first["refresh_token"])
    assert len(rows) == 1 + 2 * racers
    assert all(row["revoked_at"] is None for row in rows)


async def test_reuse_after_the_grace_revokes_the_whole_family(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    first = await _login(api, tenant["scheduler"])
    status, second = await _refresh(api, first["refresh_token"])
    assert status == 200
    status, retried = await _refresh(api, first["refresh_token"])
    assert status == 200
    await _end_grace(conn, first["refresh_token"])
    status, body = await _refresh(api, first["refresh_token"])
    assert status == 401
    assert "reuse" in body["error"]
    for pair in (second, retried):
        assert (await _refresh(api, pair["refresh_token"]))[0] == 401
    assert all(row["revoked_at"] is not None for row in await _family_rows(conn, first["refresh_token"]))


async def test_a_grace_of_zero_keeps_one_use_per_token(
    strict_api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    first = await _login(strict_api, tenant["auditor"])
    results = await asyncio.gather(*(_refresh(strict_api, first["refresh_token"]) for _ in range(4)))
    assert sorted(status for status, _ in results) == [200, 401, 401, 401]
    # the losers' reuse revoked the family, the winner's new pair included
    (winner,) = [body for status, body in results if status == 200]
    assert (await _refresh(strict_api, winner["refresh_token"]))[0] == 401
    assert all(row["revoked_at"] is not None for row in await _family_rows(conn, first["refresh_token"]))


async def test_no_grace_for_a_logged_out_family(api: ApiClient, tenant: Tenant) -> None:
    first = await _login(api, tenant["tenant_admin"])
    status, second = await _refresh(api, first["refresh_token"])
    assert status == 200
    status, _, _ = await call(api, "POST", "/api/v1/auth/logout", json={"refresh_token": second["refresh_token"]})
    assert status == 204
    status, body = await _refresh(api, first["refresh_token"])
    assert status == 401
    assert "revoked" in body["error"]


async def test_no_grace_after_a_password_change(api: ApiClient, tenant: Tenant) -> None:
    first = await _login(api, tenant["mechanic"])
    assert (await _refresh(api, first["refresh_token"]))[0] == 200
    status, _, _ = await call(
        api,
        "PATCH",
        f"/api/v1/users/{tenant['mechanic'].user_id}",
        tenant["tenant_admin"],
        json={"password": "a-brand-new-password"},
    )
    assert status == 200
    assert (await _refresh(api, first["refresh_token"]))[0] == 401


async def test_a_logout_racing_a_retried_refresh_leaves_no_live_token(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    """The retry within the grace issues a pair while the logout revokes the family: whichever runs first,
    the family ends with no live token (the refresh either sees the revocation or its pair is revoked)."""
    for _ in range(10):
        first = await _login(api, tenant["scheduler"])
        status, second = await _refresh(api, first["refresh_token"])
        assert status == 200
        retry, logout = await asyncio.gather(
            _refresh(api, first["refresh_token"]),
            call(api, "POST", "/api/v1/auth/logout", json={"refresh_token": second["refresh_token"]}),
        )
        assert logout[0] == 204
        assert retry[0] in (200, 401)
        live = [row for row in await _family_rows(conn, first["refresh_token"]) if row["revoked_at"] is None]
        assert live == []


async def test_a_password_change_racing_refreshes_leaves_no_live_token(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    member = tenant["auditor"]
    for n in range(5):
        first = await _login(api, member) if n == 0 else await _login_with(api, member, f"password-number-{n - 1}")
        refreshes = [_refresh(api, first["refresh_token"]) for _ in range(3)]
        change = call(
            api,
            "PATCH",
            f"/api/v1/users/{member.user_id}",
            tenant["tenant_admin"],
            json={"password": f"password-number-{n}"},
        )
        *_, changed = await asyncio.gather(*refreshes, change)
        assert changed[0] == 200, changed
        live = await conn.fetchval(
            "SELECT count(*) FROM refresh_tokens WHERE user_id = $1 AND revoked_at IS NULL", member.user_id
        )
        assert live == 0


async def _login_with(api: ApiClient, member: Member, password: str) -> dict[str, Any]:
    status, body, _ = await call(api, "POST", "/api/v1/auth/login", json={"email": member.email, "password": password})
    assert status == 200, body
    return dict(body)
