"""An in-process MeshWorker against real Postgres and Redis: actors run concurrently but each one serially,
a poison command is dead-lettered without blocking its actor, and a rule violation is a plain `failed`."""

from __future__ import annotations

import itertools
from typing import Any

import asyncpg
import orjson

from amss.actors.partitioning import aircraft_actor
from tests.backends import Backends
from tests.integration.factories import make_org
from tests.mesh_support import (
    Load,
    answer,
    answered,
    assert_actor_order,
    assert_exactly_once,
    command_result,
    mesh_backends,
    mesh_worker,
    new_actors,
    probe_rows,
    sequences_by_actor,
    wait_all_terminal,
)


async def test_commands_of_different_actors_overlap_while_one_actors_commands_never_do(
    database_url: str, backends: Backends, conn: asyncpg.Connection
) -> None:
    org_id = await make_org(conn)
    actors = new_actors(org_id, 10)
    async with (
        mesh_backends(database_url, backends.redis_url) as mesh,
        mesh_worker(database_url, backends.redis_url, mesh.keys),
        mesh.client() as client,
    ):
        load = Load(client, org_id, actors)
        for _ in range(3):
            await load.round(sleep_ms=200)
        await wait_all_terminal(conn, org_id, load.count, within=30)

    await assert_exactly_once(conn, org_id, load.count)
    rows = await probe_rows(conn, org_id)
    assert_actor_order(rows, load.submitted)
    for earlier, later in itertools.pairwise(rows):
        if earlier["actor"] == later["actor"]:
            assert earlier["finished_at"] <= later["started_at"], f"{earlier['actor']} ran two commands at once"
    overlapping = [
        (a["seq"], b["seq"])
        for a in rows
        for b in rows
        if a["actor"] < b["actor"] and a["started_at"] < b["finished_at"] and b["started_at"] < a["finished_at"]
    ]
    assert overlapping, "commands of different actors never ran at the same time"


async def test_poison_command_is_dead_lettered_as_failed_and_its_actor_carries_on(
    database_url: str, backends: Backends, conn: asyncpg.Connection
) -> None:
    org_id = await make_org(conn)
    [actor] = new_actors(org_id, 1)
    async with (
        mesh_backends(database_url, backends.redis_url) as mesh,
        mesh_worker(database_url, backends.redis_url, mesh.keys, max_deliveries=3),
        mesh.client() as client,
    ):
        poison = await client.submit(org_id, actor, "diag.fail", {})
        # queued behind the poison on the same actor: they must not wait forever
        followers = [await client.record(org_id, actor, seq) for seq in range(2)]
        last = await client.record(org_id, actor, 2, wait=20)
        dead_letters: Any = await mesh.redis.xrange(mesh.keys.dead_letter_stream)

    assert answer(last) is not None, "the actor's next command never finished"
    assert (answered(last).status_code, orjson.loads(answered(last).body)["seq"]) == (200, 2)
    await wait_all_terminal(conn, org_id, 4, within=10)
    poisoned: Any = await command_result(conn, poison.command_id)
    assert (poisoned["status"], poisoned["result_status"]) == ("failed", 500)
    assert orjson.loads(poisoned["body"])["code"] == "INTERNAL"
    assert "diag.fail" in poisoned["error"]

    fields = [{bytes(key).decode(): bytes(value).decode() for key, value in entry.items()} for _, entry in dead_letters]
    assert [(f["command_id"], f["actor"], f["type"], f["deliveries"]) for f in fields] == [
        (str(poison.command_id), actor, "diag.fail", "3")
    ]

    statuses = await conn.fetch(
        "SELECT status::text AS status FROM commands WHERE id = ANY($1::uuid[])",
        [submission.command_id for submission in [*followers, last]],
    )
    assert [row["status"] for row in statuses] == ["succeeded"] * 3
    rows = await probe_rows(conn, org_id)
    assert sequences_by_actor(rows) == {actor: [0, 1, 2]}
    assert all(row["started_at"] >= poisoned["completed_at"] for row in rows), "a follower overtook the poison"


async def test_unknown_command_type_is_a_plain_rejection_not_a_dead_letter(
    database_url: str, backends: Backends, conn: asyncpg.Connection
) -> None:
    org_id = await make_org(conn)
    actor = aircraft_actor(org_id, org_id)
    async with (
        mesh_backends(database_url, backends.redis_url) as mesh,
        mesh_worker(database_url, backends.redis_url, mesh.keys),
        mesh.client() as client,
    ):
        rejected = await client.submit(org_id, actor, "diag.no-such-type", {}, wait=20)
        dead_letters = await mesh.redis.xlen(mesh.keys.dead_letter_stream)

    assert answer(rejected) is not None
    assert answered(rejected).status_code == 400
    assert orjson.loads(answered(rejected).body)["code"] == "VALIDATION_ERROR"
    status = await conn.fetchval("SELECT status::text FROM commands WHERE id = $1", rejected.command_id)
    assert (status, dead_letters) == ("failed", 0)
