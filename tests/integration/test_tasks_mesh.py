"""Task and compliance commands through the real mesh: the API with AMSS_MESH on, a MeshWorker in this process.

The same fixtures as the aircraft's mesh test: a worker running the registry's handlers on a
Redis key space of this test's own, so the path is the production one — command row, partition
stream, the aircraft's actor, the executor's transaction, the reply stream.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import orjson

from amss.actors.node import MeshWorker
from tests.api_support import Tenant, call
from tests.clients import ApiClient
from tests.integration import test_aircraft_mesh as aircraft_mesh
from tests.integration.factories import make_aircraft, soon

# the aircraft mesh test's fixtures: a worker of this process and an API with the mesh on
_raw = aircraft_mesh._raw
_polled = aircraft_mesh._polled


async def test_task_and_compliance_commands_run_through_the_aircraft_actor(
    mesh_api: ApiClient, conn: asyncpg.Connection, crew: Tenant, worker: MeshWorker
) -> None:
    scheduler, mechanic = crew["scheduler"], crew["mechanic"]
    aircraft_id = await make_aircraft(conn, crew.org_id, status="grounded", grounded_by="task")
    actor = f"aircraft:{crew.org_id}:{aircraft_id}"
    body = {
        "aircraft_id": str(aircraft_id),
        "type": "repair",
        "start_time": soon(-0.01).isoformat(),
        "end_time": soon(3).isoformat(),
        "assigned_mechanic_id": str(mechanic.user_id),
    }

    # ten concurrent creates of one window, serialised by the actor: one task, nine overlaps
    answers = await asyncio.gather(
        *(_raw(mesh_api, "POST", "/api/v1/maintenance-tasks", scheduler, json=body) for _ in range(10))
    )
    assert sorted(status for status, _, _ in answers) == [201] + [409] * 9, answers
    status, created_bytes, headers = next(answer for answer in answers if answer[0] == 201)
    created = orjson.loads(created_bytes)
    path = f"/api/v1/maintenance-tasks/{created['id']}"
    assert headers["Location"] == path
    assert (await _raw(mesh_api, "GET", path, mechanic))[:2] == (200, created_bytes)
    for status, error, _ in answers:
        if status == 409:
            assert orjson.loads(error)["code"] == "SCHEDULE_OVERLAP"

    status, item, _ = await call(
        mesh_api, "POST", "/api/v1/compliance-items", mechanic, json={"task_id": created["id"], "description": "check"}
    )
    assert status == 201, item
    status, started, _ = await call(mesh_api, "PATCH", f"{path}/state", mechanic, json={"state": "in_progress"})
    assert (status, started["state"]) == (200, "in_progress"), started
    status, signed, _ = await call(
        mesh_api, "PATCH", f"/api/v1/compliance-items/{item['id']}/sign-off", mechanic, json={"result": "pass"}
    )
    assert (status, signed["result"]) == (200, "pass"), signed

    # not waited for: 202, then the poll shows exactly what a read shows
    status, accepted, headers = await _raw(
        mesh_api,
        "PATCH",
        f"{path}/state",
        scheduler,
        json={"state": "completed", "notes": "done", "override": True},
        headers={"Prefer": "respond-async"},
    )
    assert status == 202, accepted
    polled = await _polled(mesh_api, headers["Location"], scheduler)
    assert (polled["type"], polled["status"]) == ("task.transition", "succeeded")
    _, read_bytes, _ = await _raw(mesh_api, "GET", path, scheduler)
    assert polled["result"] == {"status_code": 200, "body": orjson.loads(read_bytes)}
    assert orjson.loads(read_bytes)["state"] == "completed"
    assert await conn.fetchval("SELECT status::text FROM aircraft WHERE id = $1", aircraft_id) == "operational"

    statuses = await conn.fetch(
        "SELECT type, status::text AS status, count(*) AS n FROM commands WHERE actor = $1 GROUP BY 1, 2 ORDER BY 1, 2",
        actor,
    )
    assert [tuple(row) for row in statuses] == [
        ("compliance.create", "succeeded", 1),
        ("compliance.sign_off", "succeeded", 1),
        ("task.create", "failed", 9),
        ("task.create", "succeeded", 1),
        ("task.transition", "succeeded", 2),
    ]
    actions = await conn.fetch(
        "SELECT action::text AS action, count(*) AS n FROM audit_logs WHERE entity_id = $1 GROUP BY 1 ORDER BY 1",
        uuid.UUID(created["id"]),
    )
    assert [tuple(row) for row in actions] == [("create", 1), ("state_change", 2)]
    keys = await conn.fetch(
        "SELECT dedupe_key FROM outbox_events WHERE aggregate_id = $1 ORDER BY created_at, dedupe_key",
        uuid.UUID(created["id"]),
    )
    assert [row["dedupe_key"] for row in keys] == [
        f"task_created:{crew.org_id}:{created['id']}",
        f"task_state_changed:{crew.org_id}:{created['id']}:in_progress:2",
        f"task_state_changed:{crew.org_id}:{created['id']}:completed:3",
    ]
