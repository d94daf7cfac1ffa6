"""Rate limits through HTTP: per organization and category from org_policies, per address and per
e-mail on login, the 429 shape and headers, and what happens when Redis cannot be reached."""

from __future__ import annotations

import ipaddress
import secrets
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import redis.asyncio as redis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from amss.api.rest.rate_limits import PolicyCache, login_email_key
from amss.bootstrap.server import init_server_app
from amss.config import Settings
from amss.domain.enums import Role
from amss.infra.postgres.organizations_repo import postgres_policy_loader
from amss.infra.redis.keys import KeySpace
from tests.api_support import TEST_PASSWORD, Member, Tenant, call, mint_token
from tests.cli_helpers import free_port
from tests.clients import ApiClient
from tests.integration.factories import make_org

RATE_LIMIT_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


@pytest.fixture
async def api_app(api_settings: Settings) -> web.Application:
    """The usual app with the documented login limits (10 a minute per address, 5 per e-mail), trusting
    the local test client as a proxy so that each test can send its auth requests from an address of
    its own (the per-address count is shared with every other test otherwise)."""
    settings = api_settings.model_copy(
        update={
            "login_rate_limit_per_ip": 10,
            "login_rate_limit_per_email": 5,
            "trusted_proxies": [ipaddress.ip_network("127.0.0.1/32")],
        }
    )
    return init_server_app(settings)


def new_address() -> dict[str, str]:
    address = ipaddress.IPv6Address(int(ipaddress.IPv6Address("2001:db8::")) + secrets.randbits(64))
    return {"X-Forwarded-For": str(address)}


@pytest.fixture
def from_new_address() -> dict[str, str]:
    return new_address()


@pytest.fixture
async def redis_down_app(api_settings: Settings) -> web.Application:
    return init_server_app(api_settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"}))


@pytest.fixture
async def redis_down_api(redis_down_app: web.Application) -> AsyncIterator[ApiClient]:
    client = TestClient(TestServer(redis_down_app))
    await client.start_server()
    yield client
    await client.close()


async def set_policy(
    conn: asyncpg.Connection, org_id: uuid.UUID, rate_limits: dict[str, int], per_min: int = 100
) -> None:
    await conn.execute(
        "UPDATE org_policies SET rate_limits = $2, api_rate_limit_per_min = $3 WHERE org_id = $1",
        org_id,
        rate_limits,
        per_min,
    )


async def metric(client: ApiClient, sample: str) -> float | None:
    """The value of one sample, e.g. 'rate_limit_rejections_total{category="read"}', from GET /metrics."""
    async with client.get("/metrics") as response:
        assert response.status == 200
        text = await response.text()
    for line in text.splitlines():
        name, _, value = line.rpartition(" ")
        if name == sample:
            return float(value)
    return None


async def read_users(api: ApiClient, member: Member, **headers: str) -> tuple[int, Any, Any]:
    return await call(api, "GET", "/api/v1/users", member, headers=headers)


async def test_fourth_read_over_a_read_limit_of_three_is_429(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    await set_policy(conn, tenant.org_id, {"read": 3})
    for remaining in (2, 1, 0):
        status, _, headers = await read_users(api, tenant[Role.AUDITOR])
        assert status == 200
        assert headers["RateLimit-Limit"] == "3"
        assert headers["RateLimit-Remaining"] == str(remaining)
        assert 59 <= int(headers["RateLimit-Reset"]) <= 60
    status, body, headers = await read_users(api, tenant[Role.AUDITOR])
    assert status == 429, body
    assert body["code"] == "RATE_LIMITED"
    assert body["request_id"] == headers["X-Request-ID"]
    retry_after = int(headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert body["details"] == {"category": "read", "retry_after_seconds": retry_after}
    assert headers["RateLimit-Limit"] == "3"
    assert headers["RateLimit-Remaining"] == "0"
    assert int(headers["RateLimit-Reset"]) >= 1


async def test_rejections_are_counted_by_category_in_metrics(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    await set_policy(conn, tenant.org_id, {"read": 1})
    assert (await read_users(api, tenant[Role.MECHANIC]))[0] == 200
    assert (await read_users(api, tenant[Role.MECHANIC]))[0] == 429
    assert (await read_users(api, tenant[Role.SCHEDULER]))[0] == 429
    assert await metric(api, 'rate_limit_rejections_total{category="read"}') == 2.0


async def test_organization_limit_applies_to_categories_without_an_override(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    await set_policy(conn, tenant.org_id, {}, per_min=2)
    for _ in range(2):
        status, _, headers = await read_users(api, tenant[Role.AUDITOR])
        assert status == 200
        assert headers["RateLimit-Limit"] == "2"
    assert (await read_users(api, tenant[Role.AUDITOR]))[0] == 429


async def test_limits_are_per_organization(
    api: ApiClient, tenant: Tenant, other_tenant: Tenant, conn: asyncpg.Connection
) -> None:
    await set_policy(conn, tenant.org_id, {"read": 1})
    assert (await read_users(api, tenant[Role.AUDITOR]))[0] == 200
    assert (await read_users(api, tenant[Role.AUDITOR]))[0] == 429
    status, _, headers = await read_users(api, other_tenant[Role.AUDITOR])
    assert status == 200
    assert headers["RateLimit-Limit"] == "100"
    assert headers["RateLimit-Remaining"] == "99"


async def test_admin_acting_for_an_organization_spends_that_organizations_quota(
    api: ApiClient, tenant: Tenant, other_tenant: Tenant, conn: asyncpg.Connection
) -> None:
    await set_policy(conn, tenant.org_id, {"read": 1})
    assert (await read_users(api, tenant[Role.AUDITOR]))[0] == 200
    admin = other_tenant[Role.ADMIN]
    status, body, _ = await read_users(api, admin, **{"X-Org-ID": str(tenant.org_id)})
    assert status == 429, body
    assert (await read_users(api, admin))[0] == 200


async def test_limits_are_per_category(api: ApiClient, tenant: Tenant, conn: asyncpg.Connection) -> None:
    await set_policy(conn, tenant.org_id, {"read": 1, "write": 5})
    assert (await read_users(api, tenant[Role.TENANT_ADMIN]))[0] == 200
    assert (await read_users(api, tenant[Role.TENANT_ADMIN]))[0] == 429
    status, body, headers = await call(
        api,
        "POST",
        "/api/v1/users",
        tenant[Role.TENANT_ADMIN],
        json={"email": f"new-{uuid.uuid4().hex[:8]}@example.test", "role": "mechanic", "password": TEST_PASSWORD},
    )
    assert status == 201, body
    assert headers["RateLimit-Limit"] == "5"
    assert headers["RateLimit-Remaining"] == "4"


async def test_unlimited_routes_carry_no_rate_limit_headers(api: ApiClient) -> None:
    async with api.get("/.well-known/jwks.json") as response:
        assert response.status == 200
        assert not any(name in response.headers for name in RATE_LIMIT_HEADERS)


async def login(api: ApiClient, email: str, password: str, address: dict[str, str]) -> tuple[int, Any, Any]:
    return await call(api, "POST", "/api/v1/auth/login", json={"email": email, "password": password}, headers=address)


async def test_sixth_failed_login_for_one_email_within_a_minute_is_429(
    api: ApiClient, tenant: Tenant, redis_client: redis.Redis, key_space: KeySpace
) -> None:
    """Failures are counted per e-mail whatever the address: past five a minute a wrong password gets 429."""
    email = tenant[Role.MECHANIC].email
    for remaining in (4, 3, 2, 1, 0):
        status, body, headers = await login(api, email, "not-the-password", new_address())
        assert status == 401, body
        # the per-e-mail limit (5) is tighter than the per-address one (10), so its state is shown
        assert headers["RateLimit-Limit"] == "5"
        assert headers["RateLimit-Remaining"] == str(remaining)
    status, body, headers = await login(api, email, "still-not-the-password", new_address())
    assert status == 429, body
    assert body["code"] == "RATE_LIMITED"
    assert body["details"]["category"] == "auth"
    assert int(headers["Retry-After"]) >= 1
    assert headers["RateLimit-Remaining"] == "0"
    assert email not in body["error"]
    # the address is kept in Redis only as a hash
    keys = [key.decode() async for key in redis_client.scan_iter(match=key_space.pattern, count=500)]
    assert key_space.rate_limit(*login_email_key(email)) in keys
    assert not any(email.split("@")[0] in key for key in keys)


async def test_failures_from_rotating_addresses_never_lock_the_right_password_out(
    api: ApiClient, tenant: Tenant
) -> None:
    """Issue 9 item 7: others' failures (here from six addresses) must not refuse the account's own password."""
    email = tenant[Role.ADMIN].email
    statuses = [(await login(api, email, f"guess-{n}", new_address()))[0] for n in range(6)]
    assert statuses == [401, 401, 401, 401, 401, 429]
    for _ in range(3):
        status, body, _ = await login(api, email, TEST_PASSWORD, new_address())
        assert status == 200, body
    # ... from an address that itself failed, too: the per-e-mail counter only ever answers failures
    address = new_address()
    assert (await login(api, email, "guess-again", address))[0] == 429
    assert (await login(api, email, TEST_PASSWORD, address))[0] == 200
    # and a wrong password still gets no other answer than 429 while the e-mail is over its limit
    assert (await login(api, email, "guess-7", new_address()))[0] == 429
    # another account is not affected
    other = tenant[Role.AUDITOR].email
    assert (await login(api, other, "typo-password", new_address()))[0] == 401


async def test_successful_logins_do_not_count_against_the_email(api: ApiClient, tenant: Tenant) -> None:
    email = tenant[Role.SCHEDULER].email
    for _ in range(6):
        status, body, _ = await login(api, email, TEST_PASSWORD, new_address())
        assert status == 200, body
    status, _, headers = await login(api, email, "not-the-password", new_address())
    assert status == 401
    assert headers["RateLimit-Remaining"] == "4"


async def test_an_unknown_email_is_limited_exactly_like_an_account(api: ApiClient, tenant: Tenant) -> None:
    """The 429 must not tell which e-mails exist: failures of an unknown address count the same way."""
    answers = []
    for email in (f"nobody-{uuid.uuid4().hex[:8]}@example.test", tenant[Role.TENANT_ADMIN].email):
        answers.append([await login(api, email, f"guess-{n}", new_address()) for n in range(6)])
    shapes = [[(status, body["code"], body["error"].split(";")[0]) for status, body, _ in run] for run in answers]
    assert shapes[0] == shapes[1]
    assert [status for status, _, _ in answers[0]] == [401] * 5 + [429]


async def test_the_per_address_limit_still_applies_to_the_right_password(
    api: ApiClient, tenant: Tenant, from_new_address: dict[str, str]
) -> None:
    email = tenant[Role.MECHANIC].email
    for _ in range(10):
        assert (await login(api, email, TEST_PASSWORD, from_new_address))[0] == 200
    status, body, headers = await login(api, email, TEST_PASSWORD, from_new_address)
    assert status == 429, body
    assert headers["RateLimit-Limit"] == "10"


async def test_eleventh_auth_request_from_one_address_is_429(api: ApiClient, from_new_address: dict[str, str]) -> None:
    for _ in range(10):
        unknown = {"email": f"nobody-{uuid.uuid4().hex[:8]}@example.test", "password": "whatever"}
        status, body, headers = await call(api, "POST", "/api/v1/auth/login", json=unknown, headers=from_new_address)
        assert status == 401, body
    # refresh and logout share the auth category's per-address limit
    status, body, headers = await call(
        api, "POST", "/api/v1/auth/refresh", json={"refresh_token": "bogus"}, headers=from_new_address
    )
    assert status == 429, body
    assert body["details"]["category"] == "auth"
    assert headers["RateLimit-Limit"] == "10"
    assert int(headers["Retry-After"]) >= 1
    # another address is not affected
    status, _, _ = await call(
        api, "POST", "/api/v1/auth/refresh", json={"refresh_token": "bogus"}, headers=new_address()
    )
    assert status == 401


async def test_unreachable_redis_fails_open_for_reads_and_closed_for_login(
    redis_down_app: web.Application, redis_down_api: ApiClient, tenant: Tenant
) -> None:
    auditor = tenant[Role.AUDITOR]
    token = mint_token(redis_down_app, auditor.user_id, tenant.org_id, auditor.role)
    status, body, headers = await call(
        redis_down_api, "GET", "/api/v1/users", headers={"Authorization": f"Bearer {token}"}
    )
    assert status == 200, body
    assert "RateLimit-Limit" not in headers
    login = {"email": auditor.email, "password": TEST_PASSWORD}
    status, body, headers = await call(redis_down_api, "POST", "/api/v1/auth/login", json=login)
    assert status == 503, body
    assert body["code"] == "UNAVAILABLE"
    assert body["request_id"] == headers["X-Request-ID"]
    assert await metric(redis_down_api, 'rate_limit_failures_total{category="read",outcome="open"}') == 1.0
    assert await metric(redis_down_api, 'rate_limit_failures_total{category="auth",outcome="closed"}') == 1.0


async def test_policy_cache_serves_the_stored_policy_until_its_ttl_passes(
    pg_pool: asyncpg.Pool, conn: asyncpg.Connection
) -> None:
    org_id = await make_org(conn)
    now = [0.0]
    cache = PolicyCache(postgres_policy_loader(pg_pool), ttl_seconds=10, clock=lambda: now[0])
    await set_policy(conn, org_id, {"export": 4}, per_min=80)
    assert await cache.limit_per_min(org_id, "export") == 4
    assert await cache.limit_per_min(org_id, "import") == 80
    await set_policy(conn, org_id, {"export": 9}, per_min=80)
    assert await cache.limit_per_min(org_id, "export") == 4
    now[0] = 10.0
    assert await cache.limit_per_min(org_id, "export") == 9
    assert await cache.limit_per_min(uuid.uuid4(), "read") == 100
