"""Shared fixtures: a fresh, migrated database per run and a private Redis key space.

They are lazy: unit tests, which use none of them, never touch Postgres or Redis.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest
import redis.asyncio as redis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from amss.auth.keys import generate_key_pair
from amss.auth.passwords import hash_password
from amss.bootstrap.server import init_server_app
from amss.config import Settings, load_settings
from amss.infra.postgres.pool import create_pool, init_connection
from amss.infra.redis.keys import KeySpace
from tests.api_support import TEST_PASSWORD, Tenant, make_tenant
from tests.backends import Backends, migrated_database, provide_backends, unique_name
from tests.clients import ApiClient

# the mesh-on API fixtures (mesh_settings, worker, mesh_app, mesh_api, crew) for the modules that ask for them
pytest_plugins = ["tests.integration.mesh_api"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = str(item.fspath)
        if "tests/integration" in path:
            item.add_marker(pytest.mark.integration)
        elif "tests/e2e" in path:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def backends() -> Iterator[Backends]:
    with provide_backends() as provided:
        yield provided


@pytest.fixture(scope="session")
async def database_url(backends: Backends) -> AsyncIterator[str]:
    """A database of its own for this run: created, migrated, and dropped afterwards."""
    async with migrated_database(backends.server_url, "test") as url:
        yield url


@pytest.fixture(scope="session")
async def pg_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=10)
    yield pool
    await pool.close()


@pytest.fixture
async def conn(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the test's own, outside any transaction."""
    connection = await asyncpg.connect(database_url)
    await init_connection(connection)
    yield connection
    await connection.close()


@pytest.fixture(scope="session")
def key_space() -> KeySpace:
    return KeySpace(prefix=unique_name("redis").replace("_", "-"))


@pytest.fixture(scope="session")
async def redis_client(backends: Backends, key_space: KeySpace) -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(backends.redis_url)
    yield client
    async for key in client.scan_iter(match=key_space.pattern, count=500):
        await client.delete(key)
    await client.aclose()


# --- the REST API, in-process -------------------------------------------------------------------


@pytest.fixture(scope="session")
def api_settings(database_url: str, backends: Backends, key_space: KeySpace) -> Settings:
    # one key pair for the session, so a token minted by one app is valid in every app built from these settings
    keys = generate_key_pair()
    return load_settings(
        {},
        jwt_private_key_pem=keys.private_pem,
        jwt_public_key_pem=keys.public_pem,
        app_env="test",
        db_url=database_url,
        redis_url=backends.redis_url,
        amss_redis_prefix=key_space.prefix,
        bcrypt_rounds=4,
        # tests log in often from one address; the rate-limit tests lower these themselves
        login_rate_limit_per_ip=100_000,
        login_rate_limit_per_email=100_000,
        db_pool_min=1,
        db_pool_max=10,
    )


@pytest.fixture
async def api_app(api_settings: Settings) -> web.Application:
    return init_server_app(api_settings)


@pytest.fixture
async def api(api_app: web.Application) -> AsyncIterator[ApiClient]:
    client = TestClient(TestServer(api_app))
    await client.start_server()
    yield client
    await client.close()


@pytest.fixture(scope="session")
def test_password_hash() -> str:
    return hash_password(TEST_PASSWORD, rounds=4)


@pytest.fixture
async def tenant(conn: asyncpg.Connection, api_app: web.Application, test_password_hash: str) -> Tenant:
    """An organization with one user per role, each with an access token."""
    return await make_tenant(conn, api_app, test_password_hash)


@pytest.fixture
async def other_tenant(conn: asyncpg.Connection, api_app: web.Application, test_password_hash: str) -> Tenant:
    return await make_tenant(conn, api_app, test_password_hash)
