"""The asynchronous command flow over HTTP: `Prefer` decides how long a request waits, a slow command
answers 202 with a Location to poll, and the polled result is byte for byte the synchronous answer.

No public endpoint submits diagnostic commands, so the app under test gets a test-only route that
submits `diag.record` through the same `submit_command` the command endpoints use; an in-process
MeshWorker on the app's key space executes them.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import asyncpg
import orjson
import pytest
import redis.asyncio as redis
from aiohttp import web
from aiohttp.test_utils import TestClient

from amss.actors.node import MeshWorker
from amss.bootstrap.server import init_server_app
from amss.config import Settings
from amss.infra.redis.keys import KeySpace
from tests.api_support import Member, Tenant
from tests.backends import Backends
from tests.mesh_support import (
    PARTITIONS,
    command_result,
    drop_key_space,
    mesh_prefix,
    mesh_worker,
    submit_diagnostic,
    wait_until,
)

if TYPE_CHECKING:
    ApiClient = TestClient[web.Request, web.Application]


@pytest.fixture
async def command_keys(redis_client: redis.Redis) -> AsyncIterator[KeySpace]:
    keys = KeySpace(mesh_prefix())
    yield keys
    await drop_key_space(redis_client, keys)


@pytest.fixture
async def api_app(api_settings: Settings, command_keys: KeySpace) -> web.Application:
    """The API on a key space of this test's own, plus the test-only diagnostic route."""
    settings = api_settings.model_copy(update={"amss_redis_prefix": command_keys.prefix, "amss_partitions": PARTITIONS})
    app = init_server_app(settings)
    app.router.add_post("/test/diag/{org_id}/{aircraft_id}", submit_diagnostic)
    return app


@pytest.fixture
async def worker(database_url: str, backends: Backends, command_keys: KeySpace) -> AsyncIterator[MeshWorker]:
    async with mesh_worker(database_url, backends.redis_url, command_keys) as running:
        yield running


async def post_diag(
    api: ApiClient, org_id: uuid.UUID, aircraft_id: uuid.UUID, payload: dict[str, int], prefer: str
) -> tuple[int, bytes, Any]:
    async with api.post(f"/test/diag/{org_id}/{aircraft_id}", json=payload, headers={"Prefer": prefer}) as response:
        return response.status, await response.read(), response.headers


async def get_raw(api: ApiClient, path: str, member: Member) -> tuple[int, str]:
    async with api.get(path, headers=member.auth) as response:
        return response.status, await response.text()


async def poll_until_finished(api: ApiClient, location: str, member: Member) -> str:
    """The raw text of the command resource once it is no longer `accepted`."""
    last: dict[str, str] = {}

    async def finished() -> bool:
        status, text = await get_raw(api, location, member)
        assert status == 200, text
        last["text"] = text
        return bool(orjson.loads(text)["status"] != "accepted")

    await wait_until(finished, f"{location} to finish", within=20, step=0.1)
    return last["text"]


async def stored_body(conn: asyncpg.Connection, command_id: uuid.UUID) -> str:
    stored = await command_result(conn, command_id)
    assert stored is not None
    body: str = stored["body"]
    return body


async def test_slow_command_is_202_then_polls_to_exactly_the_synchronous_answer(
    api: ApiClient, tenant: Tenant, worker: MeshWorker, conn: asyncpg.Connection
) -> None:
    aircraft_id = uuid.uuid4()
    reader = tenant["mechanic"]

    status, raw, headers = await post_diag(api, tenant.org_id, aircraft_id, {"seq": 1, "sleep_ms": 1500}, "wait=1")
    assert status == 202, raw
    accepted = orjson.loads(raw)
    command_id = uuid.UUID(accepted["command_id"])
    assert accepted == {"command_id": str(command_id), "status": "accepted"}
    assert headers["Location"] == f"/api/v1/commands/{command_id}"
    assert headers["Preference-Applied"] == "wait=1"

    polled_text = await poll_until_finished(api, headers["Location"], reader)
    polled = orjson.loads(polled_text)
    assert polled["command_id"] == str(command_id)
    assert polled["type"] == "diag.record"
    assert polled["status"] == "succeeded"
    assert polled["completed_at"] is not None
    assert polled["result"] == {"status_code": 200, "body": {"seq": 1, "worker_id": worker.config.worker_id}}
    assert await stored_body(conn, command_id) in polled_text, "the stored body should go out byte for byte"

    # the same command, answered synchronously: the poll shows exactly the bytes that call returned
    status, sync_raw, headers = await post_diag(api, tenant.org_id, aircraft_id, {"seq": 2, "sleep_ms": 0}, "wait=10")
    assert status == 200, sync_raw
    assert headers["Preference-Applied"] == "wait=10"
    assert "Location" not in headers
    sync_id = await conn.fetchval("SELECT id FROM commands WHERE org_id = $1 AND payload->>'seq' = '2'", tenant.org_id)
    status, polled_text = await get_raw(api, f"/api/v1/commands/{sync_id}", reader)
    assert status == 200
    polled = orjson.loads(polled_text)
    assert polled["status"] == "succeeded"
    assert polled["result"] == {"status_code": 200, "body": orjson.loads(sync_raw)}
    assert sync_raw.decode() in polled_text
    assert sync_raw.decode() == await stored_body(conn, sync_id)


async def test_respond_async_answers_202_without_waiting(
    api: ApiClient, tenant: Tenant, worker: MeshWorker, conn: asyncpg.Connection
) -> None:
    status, raw, headers = await post_diag(
        api, tenant.org_id, uuid.uuid4(), {"seq": 1, "sleep_ms": 1500}, "respond-async"
    )
    assert status == 202, raw
    command_id = uuid.UUID(orjson.loads(raw)["command_id"])
    assert headers["Preference-Applied"] == "respond-async"
    assert headers["Location"] == f"/api/v1/commands/{command_id}"
    # the command sleeps 1.5 s before it can commit: a 202 that had waited for it would find it finished
    assert await conn.fetchval("SELECT status::text FROM commands WHERE id = $1", command_id) == "accepted"
    polled = orjson.loads(await poll_until_finished(api, headers["Location"], tenant["scheduler"]))
    assert polled["status"] == "succeeded"


async def test_a_command_is_404_to_other_organizations_and_unknown_or_malformed_ids_are_404(
    api: ApiClient, tenant: Tenant, other_tenant: Tenant, worker: MeshWorker
) -> None:
    status, raw, headers = await post_diag(api, tenant.org_id, uuid.uuid4(), {"seq": 1, "sleep_ms": 0}, "respond-async")
    assert status == 202, raw
    location = headers["Location"]
    await poll_until_finished(api, location, tenant["auditor"])

    for role in ("tenant_admin", "auditor"):
        status, text = await get_raw(api, location, other_tenant[role])
        assert (status, orjson.loads(text)["code"]) == (404, "NOT_FOUND"), text
    for path in (f"/api/v1/commands/{uuid.uuid4()}", "/api/v1/commands/not-a-uuid"):
        status, text = await get_raw(api, path, tenant["mechanic"])
        assert (status, orjson.loads(text)["code"]) == (404, "NOT_FOUND"), (path, text)
