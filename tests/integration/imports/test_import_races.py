"""An import and REST writes on the same aircraft at once (mesh on): both go through its actor, none is lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from amss.bootstrap.server import init_server_app
from amss.bootstrap.worker import open_worker
from amss.config import Settings
from tests.api_support import call, make_tenant
from tests.clients import ApiClient
from tests.import_support import csv_bytes, upload, wait_finished
from tests.integration.factories import short_id
from tests.mesh_support import wait_until

AIRCRAFT = 60


@pytest.fixture
def mesh_import_settings(import_settings: Settings) -> Settings:
    return import_settings.model_copy(update={"amss_mesh": True, "amss_partitions": 4, "amss_import_batch_rows": 10})


@pytest.fixture
async def mesh_import_app(mesh_import_settings: Settings) -> web.Application:
    return init_server_app(mesh_import_settings)


@pytest.fixture
async def mesh_import_api(mesh_import_app: web.Application) -> AsyncIterator[ApiClient]:
    client = TestClient(TestServer(mesh_import_app))
    await client.start_server()
    yield client
    await client.close()


async def test_an_import_and_rest_patches_of_the_same_aircraft_both_land(
    mesh_import_settings: Settings,
    mesh_import_app: web.Application,
    mesh_import_api: ApiClient,
    conn: asyncpg.Connection,
    test_password_hash: str,
) -> None:
    tenant = await make_tenant(conn, mesh_import_app, test_password_hash)
    await conn.execute("UPDATE org_policies SET api_rate_limit_per_min = 1000000 WHERE org_id = $1", tenant.org_id)
    run = short_id()
    ids = [
        await conn.fetchval(
            "INSERT INTO aircraft (org_id, tail_number, model) VALUES ($1, $2, 'A319') RETURNING id",
            tenant.org_id,
            f"{run}-{number}",
        )
        for number in range(AIRCRAFT)
    ]
    lines = ["tail_number,model"] + [f"{run}-{number},A320-import" for number in range(AIRCRAFT)]
    scheduler = tenant["scheduler"]
    async with open_worker(mesh_import_settings, CollectorRegistry()) as worker:

        async def owns_all() -> bool:
            return len(worker.mesh.owned_partitions) == mesh_import_settings.amss_partitions

        await wait_until(owns_all, "the worker to own every partition", within=20)
        status, body, _ = await upload(mesh_import_api, scheduler, "aircraft", csv_bytes(*lines))
        assert status == 202, body
        gate = asyncio.Semaphore(8)

        async def patch(aircraft_id: object) -> int:
            async with gate:
                status, answer, _ = await call(
                    mesh_import_api,
                    "PATCH",
                    f"/api/v1/aircraft/{aircraft_id}",
                    scheduler,
                    json={"capacity_slots": 3},
                    headers={"Prefer": "wait=20"},
                )
                assert status == 200, answer
                return status

        await asyncio.gather(*(patch(aircraft_id) for aircraft_id in ids))
        done = await wait_finished(mesh_import_api, scheduler, body["import_id"])
    assert done["summary"]["applied"] == AIRCRAFT, done
    rows = await conn.fetch("SELECT model, capacity_slots, version FROM aircraft WHERE id = ANY($1)", ids)
    assert {(row["model"], row["capacity_slots"], row["version"]) for row in rows} == {("A320-import", 3, 3)}
    audits = await conn.fetch(
        "SELECT entity_id, details ? 'import' AS imported, entity_version FROM audit_logs"
        " WHERE org_id = $1 AND entity_type = 'aircraft' AND action = 'update' ORDER BY \"timestamp\"",
        tenant.org_id,
    )
    assert len(audits) == 2 * AIRCRAFT
    for aircraft_id in ids:
        mine = [row for row in audits if row["entity_id"] == aircraft_id]
        # one change each, in the order the actor ran them: versions 2 then 3, whichever came first
        assert sorted(row["entity_version"] for row in mine) == [2, 3]
        assert sorted(row["imported"] for row in mine) == [False, True]
