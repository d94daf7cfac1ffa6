"""Aircraft commands through the real mesh: the API with AMSS_MESH on, a MeshWorker in this process.

The worker runs the handlers the registry builds from the settings (`command_handlers`), on a
Redis key space of this test's own, so the path is the production one: command row, partition
stream, the aircraft's actor, the executor's transaction, the reply stream. Answers, waited for
or polled after a 202, are byte for byte what a read of the aircraft gives.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import orjson

from amss.actors.node import MeshWorker
from tests.api_support import Member, Tenant, call
from tests.clients import ApiClient
from tests.integration.factories import make_task, soon
from tests.mesh_support import wait_until


async def _eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    await wait_until(check, what, within=20, step=0.05)


async def _raw(api: ApiClient, method: str, path: str, member: Member, **kwargs: Any) -> tuple[int, bytes, Any]:
    headers = {**member.auth, **kwargs.pop("headers", {})}
    async with api.request(method, path, headers=headers, **kwargs) as response:
        return response.status, await response.read(), response.headers


async def _polled(api: ApiClient, location: str, member: Member) -> dict[str, Any]:
    last: dict[str, Any] = {}

    async def finished() -> bool:
        status, body, _ = await _raw(api, "GET", location, member)
        assert status == 200, body
        last.update(orjson.loads(body))
        return bool(last["status"] != "accepted")

    await _eventually(finished, f"{location} to finish")
    return last


async def test_aircraft_commands_run_through_the_aircraft_actor(
    mesh_api: ApiClient, conn: asyncpg.Connection, crew: Tenant, worker: MeshWorker
) -> None:
    scheduler, mechanic = crew["scheduler"], crew["mechanic"]
    status, created, _ = await call(
        mesh_api,
        "POST",
        "/api/v1/aircraft",
        scheduler,
        json={"tail_number": f"M{uuid.uuid4().hex[:8]}", "model": "A320"},
    )
    assert status == 201, created
    path = f"/api/v1/aircraft/{created['id']}"
    actor = f"aircraft:{crew.org_id}:{created['id']}"

    # answered within the wait: the worker's result, equal to a read
    status, body, _ = await _raw(mesh_api, "PATCH", path, mechanic, json={"status": "grounded"})
    assert status == 200, body
    assert orjson.loads(body)["status"] == "grounded"
    assert (await _raw(mesh_api, "GET", path, mechanic))[:2] == (200, body)
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM outbox_events WHERE dedupe_key = $1",
            f"aircraft_status_updated:{crew.org_id}:{created['id']}:grounded:2",
        )
        == 1
    )

    # twenty concurrent usage reports, serialised by the actor: every one counts
    answers = await asyncio.gather(
        *(call(mesh_api, "POST", f"{path}/usage", mechanic, json={"flight_hours": 1}) for _ in range(20))
    )
    assert [answer[0] for answer in answers] == [200] * 20, answers
    assert sorted(answer[1]["version"] for answer in answers) == list(range(3, 23))
    status, read, _ = await call(mesh_api, "GET", path, mechanic)
    assert (read["flight_hours_total"], read["version"]) == (20, 22)

    # a rule broken inside the actor is the synchronous error, and the command is recorded failed
    task_id = await make_task(conn, crew.org_id, uuid.UUID(created["id"]), soon(-1), soon(2), state="in_progress")
    status, error, _ = await call(mesh_api, "PATCH", path, scheduler, json={"status": "operational"})
    assert (status, error["code"], error["details"]["rule"]) == (409, "CONFLICT", "task_in_progress"), error

    # not waited for: 202, then the poll shows exactly what a read shows
    await conn.execute("UPDATE maintenance_tasks SET state = 'completed' WHERE id = $1", task_id)
    status, accepted, headers = await _raw(
        mesh_api, "PATCH", path, scheduler, json={"status": "operational"}, headers={"Prefer": "respond-async"}
    )
    assert status == 202, accepted
    polled = await _polled(mesh_api, headers["Location"], scheduler)
    assert (polled["type"], polled["status"]) == ("aircraft.update", "succeeded")
    _, read_bytes, _ = await _raw(mesh_api, "GET", path, scheduler)
    assert polled["result"] == {"status_code": 200, "body": orjson.loads(read_bytes)}
    assert orjson.loads(read_bytes)["status"] == "operational"

    status, accepted, headers = await _raw(mesh_api, "DELETE", path, scheduler, headers={"Prefer": "respond-async"})
    assert status == 202, accepted
    polled = await _polled(mesh_api, headers["Location"], scheduler)
    assert (polled["type"], polled["status"], polled["result"]) == (
        "aircraft.delete",
        "succeeded",
        {"status_code": 204, "body": None},
    )
    assert (await call(mesh_api, "GET", path, scheduler))[0] == 404

    statuses = await conn.fetch(
        "SELECT type, status::text AS status, count(*) AS n FROM commands WHERE actor = $1 GROUP BY 1, 2 ORDER BY 1, 2",
        actor,
    )
    assert [tuple(row) for row in statuses] == [
        ("aircraft.delete", "succeeded", 1),
        ("aircraft.update", "failed", 1),
        ("aircraft.update", "succeeded", 2),
        ("aircraft.usage", "succeeded", 20),
    ]
    actions = await conn.fetch(
        "SELECT action::text AS action, count(*) AS n FROM audit_logs WHERE entity_id = $1 GROUP BY 1 ORDER BY 1",
        uuid.UUID(created["id"]),
    )
    assert [tuple(row) for row in actions] == [("create", 1), ("delete", 1), ("state_change", 2), ("update", 20)]
