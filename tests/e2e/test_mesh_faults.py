"""Faults under load: a worker killed mid-run, and a Redis that restarts empty. Nothing is lost or run twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import pytest

from amss.actors.partitioning import partition_of, partitions_of
from tests.backends import Backends
from tests.integration.factories import make_org
from tests.mesh_support import (
    PARTITIONS,
    Load,
    assert_actor_order,
    assert_exactly_once,
    balanced_worker_ids,
    lease_holders,
    mesh_backends,
    new_actors,
    pending_commands,
    private_redis,
    probe_rows,
    wait_all_terminal,
    wait_until,
    worker_fleet,
)


@pytest.mark.timeout(180)
async def test_worker_killed_mid_run_loses_no_command_and_runs_none_twice(
    database_url: str, backends: Backends, conn: asyncpg.Connection, tmp_path: Path
) -> None:
    org_id = await make_org(conn)
    actors = new_actors(org_id, 30)
    victim_id, survivor_id = balanced_worker_ids(2)
    victim_partitions = partitions_of(victim_id, [victim_id, survivor_id], PARTITIONS)
    # an actor of the victim's whose first command is still running (sleeping, row locked) when the victim dies
    slow_actor = next(
        actor for actor in new_actors(org_id, 100) if partition_of(actor, PARTITIONS) in victim_partitions
    )
    slow_partition = partition_of(slow_actor, PARTITIONS)
    async with (
        mesh_backends(database_url, backends.redis_url) as mesh,
        worker_fleet(tmp_path, database_url, backends.redis_url, mesh.keys.prefix) as fleet,
    ):
        victim = await fleet.start(victim_id)
        survivor = await fleet.start(survivor_id)

        async def shared_between_both() -> bool:
            holders = await lease_holders(mesh.redis, mesh.keys)
            return None not in holders and set(holders) == {victim_id, survivor_id}

        await wait_until(shared_between_both, "both workers to hold leases")

        async with mesh.client() as client:
            load = Load(client, org_id, actors)
            submitting = asyncio.create_task(load.run(rounds=20, pause=0.15, sleep_ms=5))
            try:
                await load.wait_for(200)
                slow = {(await load.send(slow_actor, sleep_ms)).command_id for sleep_ms in (1500, 0, 0)}

                async def slow_actor_taken() -> bool:
                    return slow <= await pending_commands(mesh.redis, mesh.keys, slow_partition)

                # read by the victim: the first is running (it sleeps 1.5 s inside its transaction), two wait behind it
                await wait_until(slow_actor_taken, "the victim to take the slow actor's commands", step=0.02)
                victim.popen.kill()
                assert await victim.wait_exit(within=10) != 0
                stranded = await pending_commands(mesh.redis, mesh.keys, slow_partition)
                await submitting
            finally:
                submitting.cancel()
                await asyncio.gather(submitting, return_exceptions=True)
        assert load.count == 603
        assert slow <= stranded, "the victim should have died holding the slow actor's commands"

        async def survivor_holds_everything() -> bool:
            return await lease_holders(mesh.redis, mesh.keys) == [survivor_id] * PARTITIONS

        # the victim's leases and heartbeat expire after the 3 s TTL; the survivor takes over at its next heartbeat
        await wait_until(survivor_holds_everything, "the survivor to hold every lease", within=20)
        assert await survivor.owned_partitions() == PARTITIONS

        await wait_all_terminal(conn, org_id, load.count, within=90)
        await assert_exactly_once(conn, org_id, load.count)
        rows = await probe_rows(conn, org_id)
        assert_actor_order(rows, load.submitted)
        # the victim did work before it died; what it was running was rolled back and run again by the survivor
        ran_on = {(partition_of(row["actor"], PARTITIONS) in victim_partitions, row["worker_id"]) for row in rows}
        assert (True, victim_id) in ran_on
        assert [(row["seq"], row["worker_id"]) for row in rows if row["actor"] == slow_actor] == [
            (0, survivor_id),
            (1, survivor_id),
            (2, survivor_id),
        ]


@pytest.mark.timeout(180)
async def test_commands_accepted_around_a_redis_restart_without_persistence_all_complete_once(
    database_url: str, conn: asyncpg.Connection, tmp_path: Path
) -> None:
    org_id = await make_org(conn)
    actors = new_actors(org_id, 10)
    async with (
        private_redis(tmp_path) as server,
        mesh_backends(database_url, server.url) as mesh,
        worker_fleet(tmp_path, database_url, server.url, mesh.keys.prefix) as fleet,
    ):
        worker = await fleet.start()

        async def worker_holds_everything() -> bool:
            return await lease_holders(mesh.redis, mesh.keys) == [worker.worker_id] * PARTITIONS

        await wait_until(worker_holds_everything, "the worker to hold every lease")

        async with mesh.client() as client:
            load = Load(client, org_id, actors)
            # a backlog of slow commands, so some entries are still unread or unstarted when Redis goes away
            for _ in range(5):
                await load.round(sleep_ms=100)
            await load.run(rounds=5, pause=0.05)
            await server.kill()
            # accepted in Postgres while Redis is down: the XADD fails and only the redriver can enqueue them
            await load.round()
            await server.restart()
            await load.run(rounds=5, pause=0.05)

        await wait_all_terminal(conn, org_id, load.count, within=90)
        await assert_exactly_once(conn, org_id, load.count)
        metrics = await worker.metrics()
        assert metrics.get("commands_redriven_total", 0) >= len(actors), metrics
