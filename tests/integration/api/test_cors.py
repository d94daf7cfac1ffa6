"""CORS: off by default; with CORS_ALLOWED_ORIGINS, preflights answered and allowed origins echoed, others ignored."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from multidict import CIMultiDictProxy

from amss.bootstrap.server import init_server_app
from amss.config import Settings
from tests.api_support import TEST_PASSWORD, Member, Tenant, call, mint_token
from tests.clients import ApiClient

OPS = "https://ops.example"
ELSEWHERE = "https://elsewhere.example"


@pytest.fixture
async def api_app(api_settings: Settings) -> web.Application:
    return init_server_app(api_settings)


async def _client(settings: Settings) -> AsyncIterator[ApiClient]:
    client = TestClient(TestServer(init_server_app(settings)))
    await client.start_server()
    yield client
    await client.close()


@pytest.fixture
async def cors_api(api_settings: Settings) -> AsyncIterator[ApiClient]:
    async for client in _client(api_settings.model_copy(update={"cors_allowed_origins": [OPS]})):
        yield client


@pytest.fixture
async def any_origin_api(api_settings: Settings) -> AsyncIterator[ApiClient]:
    async for client in _client(api_settings.model_copy(update={"cors_allowed_origins": ["*"]})):
        yield client


def _member_of(client: ApiClient, tenant: Tenant, role: str) -> Member:
    """The tenant's member with a token of `client`'s app (each app has its own signing key)."""
    member = tenant[role]
    token = mint_token(client.app, member.user_id, tenant.org_id, member.role)
    return Member(member.user_id, member.email, member.role, token)


def _preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
    }


def _cors_headers(headers: CIMultiDictProxy[str]) -> dict[str, str]:
    return {name: value for name, value in headers.items() if name.lower().startswith("access-control-")}


def _tokens(header: str) -> set[str]:
    return {part.strip().lower() for part in header.split(",")}


async def test_cors_is_off_by_default(api: ApiClient, tenant: Tenant) -> None:
    status, body, headers = await call(api, "OPTIONS", "/api/v1/users", headers=_preflight(OPS))
    assert (status, body["code"]) == (405, "METHOD_NOT_ALLOWED")
    assert _cors_headers(headers) == {}
    status, _, headers = await call(api, "GET", "/api/v1/users", tenant["admin"], headers={"Origin": OPS})
    assert status == 200
    assert _cors_headers(headers) == {}
    assert "origin" not in _tokens(headers.get("Vary", ""))


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/v1/users", {"GET", "POST"}),
        (f"/api/v1/users/{uuid.uuid4()}", {"GET", "PATCH", "DELETE"}),
        ("/api/v1/auth/login", {"POST"}),
    ],
)
async def test_preflight_from_an_allowed_origin_is_204_without_authentication(
    cors_api: ApiClient, path: str, methods: set[str]
) -> None:
    status, body, headers = await call(cors_api, "OPTIONS", path, headers=_preflight(OPS))
    assert (status, body) == (204, None)
    assert headers["Access-Control-Allow-Origin"] == OPS
    assert {method.upper() for method in _tokens(headers["Access-Control-Allow-Methods"])} == methods
    assert _tokens(headers["Access-Control-Allow-Headers"]) >= {
        "authorization",
        "content-type",
        "idempotency-key",
        "if-match",
        "x-org-id",
        "x-request-id",
        "prefer",
    }
    assert headers["Access-Control-Max-Age"] == "600"
    assert "origin" in _tokens(headers["Vary"])
    assert uuid.UUID(headers["X-Request-ID"])


async def test_preflight_for_an_unknown_path_is_the_usual_404(cors_api: ApiClient) -> None:
    status, body, headers = await call(cors_api, "OPTIONS", "/api/v1/nowhere", headers=_preflight(OPS))
    assert (status, body["code"]) == (404, "NOT_FOUND")
    assert "Access-Control-Allow-Methods" not in headers
    assert headers["Access-Control-Allow-Origin"] == OPS


async def test_allowed_origin_is_echoed_with_the_exposed_headers(cors_api: ApiClient, tenant: Tenant) -> None:
    admin = _member_of(cors_api, tenant, "tenant_admin")
    status, _, headers = await call(
        cors_api,
        "POST",
        "/api/v1/users",
        admin,
        json={"email": f"cors-{uuid.uuid4().hex[:8]}@example.test", "role": "auditor", "password": TEST_PASSWORD},
        headers={"Origin": OPS},
    )
    assert status == 201
    assert headers["Access-Control-Allow-Origin"] == OPS
    assert "origin" in _tokens(headers["Vary"])
    assert _tokens(headers["Access-Control-Expose-Headers"]) == {
        "x-request-id",
        "location",
        "retry-after",
        "ratelimit-limit",
        "ratelimit-remaining",
        "ratelimit-reset",
        "idempotent-replayed",
    }
    assert "Access-Control-Allow-Methods" not in headers


@pytest.mark.parametrize(
    ("method", "path", "status", "kwargs"),
    [
        ("GET", "/api/v1/users", 401, {}),
        ("GET", "/api/v1/nowhere", 404, {}),
        ("PUT", "/api/v1/users", 405, {}),
        ("POST", "/api/v1/auth/login", 400, {"json": {"email": "not-an-address", "password": "x"}}),
    ],
)
async def test_allowed_origin_is_echoed_on_errors(
    cors_api: ApiClient, method: str, path: str, status: int, kwargs: dict[str, Any]
) -> None:
    answered, body, headers = await call(cors_api, method, path, headers={"Origin": OPS}, **kwargs)
    assert answered == status, body
    assert headers["Access-Control-Allow-Origin"] == OPS
    assert "x-request-id" in _tokens(headers["Access-Control-Expose-Headers"])
    assert "origin" in _tokens(headers["Vary"])


async def test_other_origins_get_no_cors_headers(cors_api: ApiClient, tenant: Tenant) -> None:
    status, body, headers = await call(cors_api, "OPTIONS", "/api/v1/users", headers=_preflight(ELSEWHERE))
    assert (status, body["code"]) == (405, "METHOD_NOT_ALLOWED")
    assert _cors_headers(headers) == {}
    member = _member_of(cors_api, tenant, "mechanic")
    status, _, headers = await call(
        cors_api, "GET", f"/api/v1/users/{member.user_id}", member, headers={"Origin": ELSEWHERE}
    )
    assert status == 200
    assert _cors_headers(headers) == {}
    status, _, headers = await call(cors_api, "GET", "/api/v1/users", headers={"Origin": ELSEWHERE})
    assert status == 401
    assert _cors_headers(headers) == {}


async def test_requests_without_origin_get_no_cors_headers(cors_api: ApiClient) -> None:
    status, _, headers = await call(cors_api, "GET", "/health")
    assert status == 200
    assert _cors_headers(headers) == {}


async def test_wildcard_allows_every_origin_with_a_star(any_origin_api: ApiClient) -> None:
    status, _, headers = await call(any_origin_api, "OPTIONS", "/api/v1/users", headers=_preflight(ELSEWHERE, "GET"))
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == "*"
    status, _, headers = await call(any_origin_api, "GET", "/health", headers={"Origin": ELSEWHERE})
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "*"
