"""One bcrypt cost everywhere: a successful login re-hashes a stored hash whose cost differs from BCRYPT_ROUNDS."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from amss.auth.passwords import hash_cost, hash_password, verify_password
from amss.bootstrap.server import init_server_app
from amss.config import Settings
from amss.domain.enums import Role
from amss.infra.postgres.sql import fetch_one
from tests.api_support import TEST_PASSWORD, call, mint_token
from tests.clients import ApiClient
from tests.integration.factories import make_org, make_user


@pytest.fixture
async def cost5_api(api_settings: Settings) -> AsyncIterator[ApiClient]:
    client = TestClient(TestServer(init_server_app(api_settings.model_copy(update={"bcrypt_rounds": 5}))))
    await client.start_server()
    yield client
    await client.close()


async def _user_with_hash(conn: asyncpg.Connection, password_hash: str) -> tuple[str, uuid.UUID]:
    org_id = await make_org(conn)
    user_id = await make_user(conn, org_id, "scheduler")
    await conn.execute("UPDATE users SET password_hash = $1 WHERE id = $2", password_hash, user_id)
    email = await conn.fetchval("SELECT email::text FROM users WHERE id = $1", user_id)
    return email, user_id


async def test_a_login_rehashes_a_stored_hash_of_another_cost(cost5_api: ApiClient, conn: asyncpg.Connection) -> None:
    email, user_id = await _user_with_hash(conn, hash_password(TEST_PASSWORD, rounds=4))
    before = await fetch_one(conn, "SELECT version, updated_at FROM users WHERE id = $1", user_id)
    status, body, _ = await call(
        cost5_api, "POST", "/api/v1/auth/login", json={"email": email, "password": TEST_PASSWORD}
    )
    assert status == 200, body
    after = await fetch_one(conn, "SELECT password_hash, version, updated_at FROM users WHERE id = $1", user_id)
    assert hash_cost(after["password_hash"]) == 5
    assert verify_password(TEST_PASSWORD, after["password_hash"])
    # bookkeeping, not a change of the user: no new version, and the session just issued lives on
    assert (after["version"], after["updated_at"]) == (before["version"], before["updated_at"])
    status, _, _ = await call(cost5_api, "POST", "/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert status == 200
    # the next login finds the configured cost and leaves the hash alone
    status, _, _ = await call(cost5_api, "POST", "/api/v1/auth/login", json={"email": email, "password": TEST_PASSWORD})
    assert status == 200
    assert await conn.fetchval("SELECT password_hash FROM users WHERE id = $1", user_id) == after["password_hash"]


async def test_a_wrong_password_never_rehashes(cost5_api: ApiClient, conn: asyncpg.Connection) -> None:
    stored = hash_password(TEST_PASSWORD, rounds=4)
    email, user_id = await _user_with_hash(conn, stored)
    status, _, _ = await call(
        cost5_api, "POST", "/api/v1/auth/login", json={"email": email, "password": "not-the-password"}
    )
    assert status == 401
    assert await conn.fetchval("SELECT password_hash FROM users WHERE id = $1", user_id) == stored


async def test_users_created_through_the_api_are_hashed_at_the_configured_cost(
    cost5_api: ApiClient, conn: asyncpg.Connection
) -> None:
    org_id = await make_org(conn)
    admin_id = await make_user(conn, org_id, "tenant_admin")
    token = mint_token(cost5_api.app, admin_id, org_id, Role.TENANT_ADMIN)
    status, body, _ = await call(
        cost5_api,
        "POST",
        "/api/v1/users",
        headers={"Authorization": f"Bearer {token}"},
        json={"email": "cost5@example.test", "role": "mechanic", "password": "a-long-password"},
    )
    assert status == 201, body
    stored = await conn.fetchval("SELECT password_hash FROM users WHERE org_id = $1 AND role = 'mechanic'", org_id)
    assert hash_cost(stored) == 5
