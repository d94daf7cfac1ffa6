"""Part commands through the real mesh: the API with AMSS_MESH on, a MeshWorker in this process.

The worker runs the handlers the registry builds from the settings and its Redis client, so the
path is the production one: command row, partition stream, the part item's actor
`part:{org_id}:{part_item_id}`, the executor's transaction (with the Redis lock held while
reserving), the reply stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import asyncpg
import orjson
import redis.asyncio as redis

from amss.actors.node import MeshWorker
from amss.actors.registry import command_handlers
from amss.app.parts.commands import DeletePartItem, ReservePart, TransitionReservation, UpdatePartItem
from amss.config import Settings
from amss.infra.redis.keys import KeySpace
from amss.infra.redis.locks import RedisPartItemLocks
from tests.api_support import Tenant, call
from tests.clients import ApiClient
from tests.integration.factories import make_aircraft, make_part_item, make_task, soon
from tests.mesh_support import wait_until


async def _eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    await wait_until(check, what, within=20, step=0.05)


async def test_the_registry_registers_part_commands_only_with_redis(
    api_settings: Settings, redis_client: redis.Redis
) -> None:
    without = command_handlers(api_settings)
    assert ReservePart.TYPE not in without
    with_redis = command_handlers(
        api_settings, RedisPartItemLocks(redis_client, KeySpace(api_settings.amss_redis_prefix))
    )
    assert {
        UpdatePartItem.TYPE,
        DeletePartItem.TYPE,
        ReservePart.TYPE,
        TransitionReservation.TYPE,
    } <= set(with_redis)


async def test_reservations_run_through_the_part_item_actor(
    mesh_api: ApiClient, conn: asyncpg.Connection, crew: Tenant, worker: MeshWorker
) -> None:
    mechanic, scheduler = crew["mechanic"], crew["scheduler"]
    aircraft_id = await make_aircraft(conn, crew.org_id)
    item_id = await make_part_item(conn, crew.org_id)
    tasks = [
        await make_task(
            conn, crew.org_id, aircraft_id, soon(100 + 2 * n), soon(101 + 2 * n), assigned_mechanic_id=mechanic.user_id
        )
        for n in range(6)
    ]
    # six concurrent reservations of one item, serialised by its actor: one 201, five 409
    answers = await asyncio.gather(
        *(
            call(
                mesh_api,
                "POST",
                "/api/v1/part-reservations",
                scheduler,
                json={"task_id": str(task_id), "part_item_id": str(item_id)},
            )
            for task_id in tasks
        )
    )
    assert sorted(status for status, _, _ in answers) == [201] + [409] * 5, answers
    assert {body["code"] for status, body, _ in answers if status == 409} == {"CONFLICT"}
    created = next(body for status, body, _ in answers if status == 201)
    status, read, _ = await call(mesh_api, "GET", f"/api/v1/part-reservations/{created['id']}", scheduler)
    assert (status, read) == (200, created)

    # marked used by the assigned mechanic, through the actor; the item follows
    status, used, _ = await call(
        mesh_api, "PATCH", f"/api/v1/part-reservations/{created['id']}/state", mechanic, json={"state": "used"}
    )
    assert (status, used["state"], used["version"]) == (200, "used", 2), used
    status, item, _ = await call(mesh_api, "GET", f"/api/v1/part-items/{item_id}", mechanic)
    assert (item["status"], item["version"]) == ("used", 2)

    # an item update, not waited for: the poll shows what a read shows
    other_item = await make_part_item(conn, crew.org_id)
    async with mesh_api.request(
        "PATCH",
        f"/api/v1/part-items/{other_item}",
        json={"status": "disposed"},
        headers={**scheduler.auth, "Prefer": "respond-async"},
    ) as response:
        assert response.status == 202, await response.text()
        location = response.headers["Location"]
    polled: dict[str, object] = {}

    async def finished() -> bool:
        _, body, _ = await call(mesh_api, "GET", location, scheduler)
        polled.update(body)
        return bool(body["status"] != "accepted")

    await _eventually(finished, "the item update")
    async with mesh_api.request("GET", f"/api/v1/part-items/{other_item}", headers=scheduler.auth) as response:
        read_bytes = await response.read()
    assert polled["result"] == {"status_code": 200, "body": orjson.loads(read_bytes)}

    actors = await conn.fetch("SELECT DISTINCT actor FROM commands WHERE org_id = $1 ORDER BY actor", crew.org_id)
    assert {row["actor"] for row in actors} == {f"part:{crew.org_id}:{item_id}", f"part:{crew.org_id}:{other_item}"}
    counts = await conn.fetch(
        "SELECT type, status::text AS status, count(*) AS n FROM commands WHERE org_id = $1"
        " GROUP BY 1, 2 ORDER BY 1, 2",
        crew.org_id,
    )
    assert [tuple(row) for row in counts] == [
        ("part_item.update", "succeeded", 1),
        ("part_reservation.create", "failed", 5),
        ("part_reservation.create", "succeeded", 1),
        ("part_reservation.state", "succeeded", 1),
    ]
