"""The composition root: a clock passed to it is the one every service and command handler of the process reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import jwt
import pytest
from aiohttp.test_utils import TestClient, TestServer

from amss.auth.tokens import TokenService, load_key_pair
from amss.bootstrap.resources import open_resources
from amss.bootstrap.server import init_server_app, open_server
from amss.config import Settings
from tests.api_support import TEST_PASSWORD, Tenant, make_tenant
from tests.clients import ApiClient
from tests.integration.factories import make_aircraft

FIXED_NOW = datetime(2031, 5, 17, 9, 30, tzinfo=UTC)


def fixed_clock() -> datetime:
    return FIXED_NOW


@pytest.fixture
async def fixed_api(api_settings: Settings) -> AsyncIterator[ApiClient]:
    # mesh off: the command handlers run in this process, over the clock the root was given
    app = init_server_app(api_settings.model_copy(update={"amss_mesh": False}), clock=fixed_clock)
    client = TestClient(TestServer(app))
    await client.start_server()
    yield client
    await client.close()


@pytest.fixture
async def fixed_tenant(conn: asyncpg.Connection, fixed_api: ApiClient, test_password_hash: str) -> Tenant:
    return await make_tenant(conn, fixed_api.app, test_password_hash)


async def test_a_login_is_stamped_by_the_clock_given_to_the_root(fixed_api: ApiClient, fixed_tenant: Tenant) -> None:
    member = fixed_tenant["mechanic"]
    response = await fixed_api.post("/api/v1/auth/login", json={"email": member.email, "password": TEST_PASSWORD})
    assert response.status == 200
    claims = jwt.decode((await response.json())["access_token"], options={"verify_signature": False})
    assert claims["iat"] == int(FIXED_NOW.timestamp())


async def test_a_command_handler_reads_the_clock_given_to_the_root(
    fixed_api: ApiClient, fixed_tenant: Tenant, conn: asyncpg.Connection
) -> None:
    aircraft_id = await make_aircraft(conn, fixed_tenant.org_id)
    response = await fixed_api.delete(f"/api/v1/aircraft/{aircraft_id}", headers=fixed_tenant["admin"].auth)
    assert response.status == 204, await response.text()
    assert await conn.fetchval("SELECT deleted_at FROM aircraft WHERE id = $1", aircraft_id) == FIXED_NOW


async def test_the_server_root_builds_one_key_space_and_clock_and_closes_its_pool(api_settings: Settings) -> None:
    tokens = TokenService(load_key_pair(api_settings), api_settings.jwt_issuer, api_settings.access_token_ttl)
    async with open_server(api_settings, tokens, clock=fixed_clock) as server:
        assert server.resources.clock is fixed_clock
        assert server.resources.keys.prefix == api_settings.amss_redis_prefix
        assert await server.resources.pool.fetchval("SELECT 1") == 1
        pool = server.resources.pool
    assert pool.is_closing()


async def test_resources_close_when_a_later_start_up_step_fails(api_settings: Settings) -> None:
    pools: list[asyncpg.Pool] = []

    async def start_then_fail() -> None:
        async with open_resources(api_settings) as resources:
            pools.append(resources.pool)
            raise RuntimeError("start-up of a later resource failed")

    with pytest.raises(RuntimeError):
        await start_then_fail()
    assert pools[0].is_closing()
