"""Idempotency-Key over HTTP: replays byte for byte, reuse and in-progress conflicts, scoping, leases.

The real user routes prove the contract; a few extra routes on the same app (a handler whose
outcome each test scripts) prove what is and is not stored, cancellation and lease take-over.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
import asyncpg
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from amss.api.rest.bodies import json_response
from amss.api.rest.errors import ApiError
from amss.api.rest.idempotency import IDEMPOTENCY_POLICY, IdempotencyPolicy, request_hash
from amss.api.rest.routing import RouteSpec, add_routes
from amss.auth.rbac import Action, Resource
from amss.domain.errors import Conflict
from tests.api_support import Member, Tenant, call
from tests.clients import ApiClient

USERS = "/api/v1/users"


def new_user(**overrides: Any) -> dict[str, Any]:
    return {"email": f"u-{uuid.uuid4().hex[:10]}@example.test", "role": "mechanic", "password": "x" * 12} | overrides


def with_key(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


def new_key() -> str:
    return f"key-{uuid.uuid4().hex}"


async def raw_post(
    client: ApiClient, path: str, member: Member, body: bytes, key: str
) -> tuple[int, bytes, dict[str, str]]:
    headers = {**member.auth, "Idempotency-Key": key, "Content-Type": "application/json"}
    async with client.post(path, data=body, headers=headers) as response:
        return response.status, await response.read(), dict(response.headers)


async def users_with_email(conn: asyncpg.Connection, org_id: uuid.UUID, email: str) -> int:
    return await conn.fetchval(  # type: ignore[no-any-return]
        "SELECT count(*) FROM users WHERE org_id = $1 AND email = $2", org_id, email
    )


async def key_rows(conn: asyncpg.Connection, org_id: uuid.UUID, key: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT endpoint, status_code, request_hash, response_body FROM idempotency_keys"
        " WHERE org_id = $1 AND key = $2 ORDER BY endpoint",
        org_id,
        key,
    )


async def until_released(conn: asyncpg.Connection, org_id: uuid.UUID, key: str) -> None:
    """Wait (briefly: far less than any lease) for the key's placeholder to be deleted."""
    for _ in range(50):
        if not await key_rows(conn, org_id, key):
            return
        await asyncio.sleep(0.01)
    assert await key_rows(conn, org_id, key) == [], "the placeholder was not released"


# --- the contract, on the real user routes ----------------------------------------------------


async def test_repeat_replays_status_bytes_and_headers_without_running_the_handler(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    admin, key = tenant["tenant_admin"], new_key()
    payload = new_user()
    first = await raw_post(api, USERS, admin, orjson.dumps(payload), key)
    # the same request, its JSON written differently: key order and whitespace do not matter
    rewritten = b'{ "password": "%s",\n "role": "mechanic", "email": "%s" }' % (
        payload["password"].encode(),
        payload["email"].encode(),
    )
    repeat = await raw_post(api, USERS, admin, rewritten, key)
    assert first[0] == repeat[0] == 201
    assert repeat[1] == first[1]
    assert repeat[2]["Content-Type"] == first[2]["Content-Type"]
    assert repeat[2]["Location"] == first[2]["Location"] == f"{USERS}/{orjson.loads(first[1])['id']}"
    assert repeat[2]["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first[2]
    assert repeat[2]["X-Request-ID"] != first[2]["X-Request-ID"]
    assert await users_with_email(conn, tenant.org_id, payload["email"]) == 1
    [row] = await key_rows(conn, tenant.org_id, key)
    assert row["endpoint"] == "POST /api/v1/users"
    assert row["status_code"] == 201
    assert row["response_body"] == orjson.loads(first[1])


async def test_same_key_with_another_body_is_409_key_reused(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    admin, key = tenant["tenant_admin"], new_key()
    status, _, _ = await call(api, "POST", USERS, admin, json=new_user(), headers=with_key(key))
    assert status == 201
    other = new_user()
    status, body, _ = await call(api, "POST", USERS, admin, json=other, headers=with_key(key))
    assert status == 409
    assert body["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert await users_with_email(conn, tenant.org_id, other["email"]) == 0


async def test_rejected_request_is_replayed_with_the_same_4xx(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    admin, key = tenant["tenant_admin"], new_key()
    taken = new_user(email=tenant["mechanic"].email)
    first = await raw_post(api, USERS, admin, orjson.dumps(taken), key)
    repeat = await raw_post(api, USERS, admin, orjson.dumps(taken), key)
    assert first[0] == repeat[0] == 409
    assert orjson.loads(first[1])["code"] == "CONFLICT"
    assert repeat[1] == first[1]
    assert repeat[2]["Idempotent-Replayed"] == "true"
    [row] = await key_rows(conn, tenant.org_id, key)
    assert row["status_code"] == 409


async def test_ten_concurrent_requests_with_one_key_create_one_user(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    admin, key = tenant["tenant_admin"], new_key()
    payload = new_user()
    body = orjson.dumps(payload)
    results = await asyncio.gather(*(raw_post(api, USERS, admin, body, key) for _ in range(10)))
    statuses = [status for status, _, _ in results]
    assert set(statuses) <= {201, 409}, statuses
    created = {raw for status, raw, _ in results if status == 201}
    assert len(created) == 1, "every 201 is the same bytes"
    for status, raw, headers in results:
        if status == 409:
            error = orjson.loads(raw)
            assert error["code"] == "IDEMPOTENCY_IN_PROGRESS"
            assert error["details"]["retry_after_seconds"] >= 1
            assert int(headers["Retry-After"]) >= 1
    assert await users_with_email(conn, tenant.org_id, payload["email"]) == 1
    again = await raw_post(api, USERS, admin, body, key)
    assert (again[0], again[1]) == (201, created.pop())


async def test_keys_are_scoped_to_the_organization(
    api: ApiClient, tenant: Tenant, other_tenant: Tenant, conn: asyncpg.Connection
) -> None:
    key, payload = new_key(), new_user()
    mine = await raw_post(api, USERS, tenant["tenant_admin"], orjson.dumps(payload), key)
    theirs = await raw_post(api, USERS, other_tenant["tenant_admin"], orjson.dumps(payload), key)
    assert mine[0] == theirs[0] == 201
    assert "Idempotent-Replayed" not in theirs[2]
    assert orjson.loads(theirs[1])["org_id"] == str(other_tenant.org_id)
    assert await users_with_email(conn, other_tenant.org_id, payload["email"]) == 1


async def test_keys_are_scoped_to_the_endpoint(api: ApiClient, tenant: Tenant, conn: asyncpg.Connection) -> None:
    admin, key = tenant["admin"], new_key()
    status, _, headers = await call(api, "POST", USERS, admin, json=new_user(), headers=with_key(key))
    assert status == 201
    name = f"org-{uuid.uuid4().hex[:8]}"
    status, body, headers = await call(
        api, "POST", "/api/v1/organizations", admin, json={"name": name}, headers=with_key(key)
    )
    assert status == 201, body
    assert body["name"] == name
    assert "Idempotent-Replayed" not in headers
    endpoints = [row["endpoint"] for row in await key_rows(conn, tenant.org_id, key)]
    assert endpoints == ["POST /api/v1/organizations", "POST /api/v1/users"]


async def test_an_admin_acting_for_another_organization_uses_that_organizations_keys(
    api: ApiClient, tenant: Tenant, other_tenant: Tenant, conn: asyncpg.Connection
) -> None:
    admin, key, payload = tenant["admin"], new_key(), new_user()
    headers = {"Idempotency-Key": key, "X-Org-ID": str(other_tenant.org_id)}
    status, _, _ = await call(api, "POST", USERS, admin, json=payload, headers=headers)
    assert status == 201
    assert len(await key_rows(conn, other_tenant.org_id, key)) == 1
    assert await key_rows(conn, tenant.org_id, key) == []


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "naïve"], ids=["empty", "256", "space", "non-ascii"])
async def test_malformed_key_is_400_naming_the_header(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection, key: str
) -> None:
    payload = new_user()
    status, body, _ = await call(api, "POST", USERS, tenant["tenant_admin"], json=payload, headers=with_key(key))
    assert status == 400
    assert body["code"] == "VALIDATION_ERROR"
    assert "Idempotency-Key" in body["details"]["fields"]
    assert await users_with_email(conn, tenant.org_id, payload["email"]) == 0


async def test_longest_key_is_accepted(api: ApiClient, tenant: Tenant) -> None:
    key = f"{uuid.uuid4().hex}{'k' * 223}"
    status, _, _ = await call(api, "POST", USERS, tenant["tenant_admin"], json=new_user(), headers=with_key(key))
    assert status == 201


async def test_without_the_header_nothing_is_stored(api: ApiClient, tenant: Tenant, conn: asyncpg.Connection) -> None:
    before = await conn.fetchval("SELECT count(*) FROM idempotency_keys WHERE org_id = $1", tenant.org_id)
    for _ in range(2):
        status, _, headers = await call(api, "POST", USERS, tenant["tenant_admin"], json=new_user())
        assert status == 201
        assert "Idempotent-Replayed" not in headers
    after = await conn.fetchval("SELECT count(*) FROM idempotency_keys WHERE org_id = $1", tenant.org_id)
    assert after == before


async def test_routes_that_are_not_idempotent_ignore_the_header(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    key = new_key()
    user_id = tenant["mechanic"].user_id
    status, _, _ = await call(
        api, "PATCH", f"{USERS}/{user_id}", tenant["tenant_admin"], json={"role": "auditor"}, headers=with_key(key)
    )
    assert status == 200
    assert await key_rows(conn, tenant.org_id, key) == []


async def test_a_running_request_makes_a_repeat_409_in_progress(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    key, payload = new_key(), new_user()
    await conn.execute(
        "INSERT INTO idempotency_keys (org_id, key, endpoint, request_hash, lease_expires_at)"
        " VALUES ($1, $2, 'POST /api/v1/users', $3, now() + interval '30 seconds')",
        tenant.org_id,
        key,
        request_hash("POST", USERS, orjson.dumps(payload)),
    )
    status, body, headers = await call(api, "POST", USERS, tenant["tenant_admin"], json=payload, headers=with_key(key))
    assert status == 409
    assert body["code"] == "IDEMPOTENCY_IN_PROGRESS"
    assert 29 <= body["details"]["retry_after_seconds"] <= 30
    assert headers["Retry-After"] == str(body["details"]["retry_after_seconds"])
    assert await users_with_email(conn, tenant.org_id, payload["email"]) == 0


async def test_a_dead_requests_placeholder_is_taken_over_after_its_lease(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    key, payload = new_key(), new_user()
    await conn.execute(
        "INSERT INTO idempotency_keys (org_id, key, endpoint, request_hash, lease_expires_at)"
        " VALUES ($1, $2, 'POST /api/v1/users', $3, now() - interval '1 second')",
        tenant.org_id,
        key,
        request_hash("POST", USERS, orjson.dumps(payload)),
    )
    status, body, _ = await call(api, "POST", USERS, tenant["tenant_admin"], json=payload, headers=with_key(key))
    assert status == 201, body
    assert await users_with_email(conn, tenant.org_id, payload["email"]) == 1
    [row] = await key_rows(conn, tenant.org_id, key)
    assert row["status_code"] == 201


async def test_a_dead_placeholder_of_another_request_is_still_key_reused(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    key = new_key()
    await conn.execute(
        "INSERT INTO idempotency_keys (org_id, key, endpoint, request_hash, lease_expires_at)"
        " VALUES ($1, $2, 'POST /api/v1/users', 'another request', now() - interval '1 second')",
        tenant.org_id,
        key,
    )
    status, body, _ = await call(api, "POST", USERS, tenant["tenant_admin"], json=new_user(), headers=with_key(key))
    assert status == 409
    assert body["code"] == "IDEMPOTENCY_KEY_REUSED"


async def test_after_24_hours_the_key_is_free_again(api: ApiClient, tenant: Tenant, conn: asyncpg.Connection) -> None:
    admin, key = tenant["tenant_admin"], new_key()
    status, _, _ = await call(api, "POST", USERS, admin, json=new_user(), headers=with_key(key))
    assert status == 201
    ttl = await conn.fetchval(
        "SELECT expires_at - created_at FROM idempotency_keys WHERE org_id = $1 AND key = $2", tenant.org_id, key
    )
    assert ttl == timedelta(hours=24)
    await conn.execute(
        "UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE org_id = $1 AND key = $2",
        tenant.org_id,
        key,
    )
    other = new_user()
    status, _, headers = await call(api, "POST", USERS, admin, json=other, headers=with_key(key))
    assert status == 201
    assert "Idempotent-Replayed" not in headers
    assert await users_with_email(conn, tenant.org_id, other["email"]) == 1


# --- outcomes, cancellation and leases, on scripted routes --------------------------------------

SCRIPTED = "/api/v1/test-idempotency/run"
SCRIPTED_ASYNC = "/api/v1/test-idempotency/run-async"


@dataclass
class Lab:
    """What the scripted handler does on each call ("ok" once the script runs out), and what it saw."""

    script: list[str] = field(default_factory=list)
    calls: int = 0
    started: asyncio.Event = field(default_factory=asyncio.Event)
    proceed: asyncio.Event = field(default_factory=asyncio.Event)


LAB = web.AppKey("idempotency_lab", Lab)


async def scripted(request: web.Request) -> web.StreamResponse:
    lab = request.app[LAB]
    lab.calls += 1
    call_number = lab.calls
    outcome = lab.script.pop(0) if lab.script else "ok"
    lab.started.set()
    if outcome == "hang":
        await lab.proceed.wait()
    elif outcome == "conflict":
        raise Conflict("scripted conflict", {"call": call_number})
    elif outcome == "boom":
        raise RuntimeError("scripted failure")
    elif outcome == "throttled":
        raise ApiError("RATE_LIMITED", "scripted limit", headers={"Retry-After": "1"})
    elif outcome == "unavailable":
        return json_response({"call": call_number}, status=503)
    elif outcome == "stream":
        response = web.StreamResponse(status=200)
        await response.prepare(request)
        await response.write(b"streamed")
        await response.write_eof()
        return response
    return json_response({"call": call_number}, status=201, headers={"Location": f"/things/{call_number}"})


def _route(path: str, name: str, asynchronous: bool) -> RouteSpec:
    return RouteSpec(
        "POST",
        path,
        scripted,
        name,
        "A scripted idempotent route",
        (Resource.USERS, Action.WRITE),
        "write",
        idempotent=True,
        asynchronous=asynchronous,
        status=201,
    )


@pytest.fixture
async def lab_client(api_app: web.Application) -> AsyncIterator[tuple[ApiClient, Lab]]:
    lab = Lab()
    api_app[LAB] = lab
    api_app[IDEMPOTENCY_POLICY] = IdempotencyPolicy(lease=timedelta(seconds=1))
    add_routes(api_app, [_route(SCRIPTED, "test.scripted", False), _route(SCRIPTED_ASYNC, "test.scripted_async", True)])
    client = TestClient(TestServer(api_app))
    await client.start_server()
    yield client, lab
    lab.proceed.set()
    await client.close()


async def post(client: ApiClient, member: Member, key: str, path: str = SCRIPTED) -> tuple[int, Any, Any]:
    return await call(client, "POST", path, member, json={"thing": 1}, headers=with_key(key))


async def test_a_domain_error_is_stored_and_replayed(lab_client: tuple[ApiClient, Lab], tenant: Tenant) -> None:
    client, lab = lab_client
    lab.script = ["conflict"]
    key = new_key()
    first = await post(client, tenant["tenant_admin"], key)
    repeat = await post(client, tenant["tenant_admin"], key)
    assert first[0] == repeat[0] == 409
    assert first[1] == repeat[1]
    assert repeat[1]["details"] == {"call": 1}
    assert repeat[2]["Idempotent-Replayed"] == "true"
    assert lab.calls == 1


@pytest.mark.parametrize(
    ("outcome", "status"),
    [("boom", 500), ("throttled", 429), ("unavailable", 503), ("stream", 200)],
)
async def test_transient_or_streamed_outcomes_are_not_stored(
    lab_client: tuple[ApiClient, Lab], tenant: Tenant, conn: asyncpg.Connection, outcome: str, status: int
) -> None:
    client, lab = lab_client
    lab.script = [outcome]
    key = new_key()
    async with client.post(SCRIPTED, json={"thing": 1}, headers={**tenant["tenant_admin"].auth, **with_key(key)}) as r:
        assert r.status == status
        await r.read()
    # a streamed body reaches the client before the handler returns and the key is released
    await until_released(conn, tenant.org_id, key)
    again, body, headers = await post(client, tenant["tenant_admin"], key)
    assert (again, body) == (201, {"call": 2})
    assert "Idempotent-Replayed" not in headers
    assert lab.calls == 2


async def test_a_cancelled_request_releases_its_key(
    lab_client: tuple[ApiClient, Lab], tenant: Tenant, conn: asyncpg.Connection
) -> None:
    client, lab = lab_client
    lab.script = ["hang"]
    key = new_key()
    headers = {**tenant["tenant_admin"].auth, **with_key(key)}
    with pytest.raises(asyncio.TimeoutError):
        await client.post(SCRIPTED, json={"thing": 1}, headers=headers, timeout=aiohttp.ClientTimeout(total=0.3))
    assert lab.calls == 1
    # the client hung up: the server cancels the handler, and the placeholder goes well within its lease
    await until_released(conn, tenant.org_id, key)
    status, body, _ = await post(client, tenant["tenant_admin"], key)
    assert (status, body) == (201, {"call": 2})


async def test_a_running_request_answers_409_then_is_taken_over_once_its_lease_passes(
    lab_client: tuple[ApiClient, Lab], tenant: Tenant, conn: asyncpg.Connection
) -> None:
    client, lab = lab_client
    lab.script = ["hang"]
    key, member = new_key(), tenant["tenant_admin"]
    stuck = asyncio.create_task(post(client, member, key))
    await asyncio.wait_for(lab.started.wait(), 5)
    status, body, headers = await post(client, member, key)
    assert status == 409
    assert body["code"] == "IDEMPOTENCY_IN_PROGRESS"
    assert body["details"]["retry_after_seconds"] == 1
    assert headers["Retry-After"] == "1"
    await asyncio.sleep(1.1)
    status, body, _ = await post(client, member, key)
    assert (status, body) == (201, {"call": 2})
    # the stuck request finishes late: it answers its own client but cannot overwrite the stored response
    lab.proceed.set()
    late_status, late_body, _ = await stuck
    assert (late_status, late_body) == (201, {"call": 1})
    status, body, headers = await post(client, member, key)
    assert (status, body, headers["Idempotent-Replayed"]) == (201, {"call": 2}, "true")


async def test_an_asynchronous_route_answers_a_running_repeat_with_202(
    lab_client: tuple[ApiClient, Lab], tenant: Tenant
) -> None:
    client, lab = lab_client
    lab.script = ["hang"]
    key, member = new_key(), tenant["tenant_admin"]
    running = asyncio.create_task(post(client, member, key, SCRIPTED_ASYNC))
    await asyncio.wait_for(lab.started.wait(), 5)
    status, body, headers = await post(client, member, key, SCRIPTED_ASYNC)
    assert (status, body) == (202, {"status": "in_progress", "retry_after_seconds": 1})
    assert headers["Retry-After"] == "1"
    lab.proceed.set()
    assert (await running)[0] == 201


async def test_the_query_string_is_part_of_the_request(lab_client: tuple[ApiClient, Lab], tenant: Tenant) -> None:
    client, _ = lab_client
    key, member = new_key(), tenant["tenant_admin"]
    assert (await post(client, member, key, f"{SCRIPTED}?variant=a"))[0] == 201
    status, body, _ = await post(client, member, key, f"{SCRIPTED}?variant=b")
    assert (status, body["code"]) == (409, "IDEMPOTENCY_KEY_REUSED")
