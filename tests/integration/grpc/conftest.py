"""The gRPC front in-process: amss-server's app with its gRPC server on a free port, mesh off (as the API tests)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import grpc
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from amss.bootstrap.server import init_server_app
from amss.config import Settings
from amss.runtime import GRPC_PORT
from tests.api_support import Tenant
from tests.grpc_support import Stubs
from tests.integration.api.route_samples import raise_rate_limits


@pytest.fixture(scope="session")
def api_settings(api_settings: Settings) -> Settings:
    return api_settings.model_copy(update={"amss_mesh": False})


@pytest.fixture
async def grpc_app(api_settings: Settings) -> AsyncIterator[web.Application]:
    app = init_server_app(api_settings, grpc_address="127.0.0.1:0")
    server = TestServer(app)
    await server.start_server()
    yield app
    await server.close()


@pytest.fixture
async def stubs(grpc_app: web.Application) -> AsyncIterator[Stubs]:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_app[GRPC_PORT]}") as channel:
        yield Stubs.over(channel)


@pytest.fixture
async def home(conn: asyncpg.Connection, tenant: Tenant) -> Tenant:
    await raise_rate_limits(conn, tenant.org_id)
    return tenant


@pytest.fixture
async def elsewhere(conn: asyncpg.Connection, other_tenant: Tenant) -> Tenant:
    await raise_rate_limits(conn, other_tenant.org_id)
    return other_tenant
