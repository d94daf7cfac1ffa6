"""Workers joining and leaving: partitions move without a command running twice or out of order, and a
worker stopped with SIGTERM finishes what it runs, hands its partitions back and exits 0."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import asyncpg
import pytest

from tests.backends import Backends
from tests.integration.factories import make_org
from tests.mesh_support import (
    PARTITIONS,
    Load,
    WorkerProcess,
    assert_actor_order,
    assert_exactly_once,
    balanced_worker_ids,
    command_result,
    lease_holders,
    mesh_backends,
    new_actors,
    probe_rows,
    wait_all_terminal,
    wait_until,
    worker_fleet,
)


def assert_clean_exit(worker: WorkerProcess, returncode: int) -> None:
    log = worker.log_text()
    assert returncode == 0, worker.tail()
    assert "Traceback" not in log, worker.tail()
    assert '"message": "stopped"' in log


@pytest.mark.timeout(200)
async def test_partitions_move_to_a_joining_worker_and_back_when_it_stops_without_double_runs(
    database_url: str, backends: Backends, conn: asyncpg.Connection, tmp_path: Path
) -> None:
    org_id = await make_org(conn)
    actors = new_actors(org_id, 30)
    first, second, third_id = balanced_worker_ids(3)
    async with (
        mesh_backends(database_url, backends.redis_url) as mesh,
        worker_fleet(tmp_path, database_url, backends.redis_url, mesh.keys.prefix) as fleet,
    ):
        for worker_id in (first, second):
            await fleet.start(worker_id)

        async def held_by(expected: set[str]) -> bool:
            holders = await lease_holders(mesh.redis, mesh.keys)
            return None not in holders and set(holders) == expected

        await wait_until(lambda: held_by({first, second}), "the two first workers to share the leases")

        async with mesh.client() as client:
            load = Load(client, org_id, actors)
            stop_load = asyncio.Event()
            submitting = asyncio.create_task(load.run_until(stop_load, pause=0.1, sleep_ms=10))
            try:
                await load.wait_for(150)
                third = await fleet.start(third_id)

                async def third_owns_some() -> bool:
                    return await third.owned_partitions() > 0

                await wait_until(third_owns_some, "the joining worker to own partitions", within=20)
                await wait_until(lambda: held_by({first, second, third_id}), "the leases to be spread over three")

                async def third_has_run_commands() -> bool:
                    return bool(
                        await conn.fetchval(
                            "SELECT count(*) FROM command_probe_log WHERE worker_id = $1 AND actor LIKE $2",
                            third_id,
                            f"aircraft:{org_id}:%",
                        )
                    )

                await wait_until(third_has_run_commands, "the joining worker to run commands")

                third.send(signal.SIGTERM)
                returncode = await third.wait_exit(within=30)
                # the load goes on after it left: its partitions are back with the first two workers
                await load.wait_for(load.count + 90)
                await wait_until(lambda: held_by({first, second}), "the leaving worker's leases to be taken back")
            finally:
                stop_load.set()
                await asyncio.gather(submitting, return_exceptions=True)
            assert submitting.exception() is None

        assert_clean_exit(third, returncode)
        await wait_all_terminal(conn, org_id, load.count, within=90)
        await assert_exactly_once(conn, org_id, load.count)
        rows = await probe_rows(conn, org_id)
        assert_actor_order(rows, load.submitted)
        assert {row["worker_id"] for row in rows} == {first, second, third_id}


@pytest.mark.timeout(120)
async def test_sigterm_lets_the_running_command_finish_releases_the_leases_and_exits_zero(
    database_url: str, backends: Backends, conn: asyncpg.Connection, tmp_path: Path
) -> None:
    org_id = await make_org(conn)
    [actor] = new_actors(org_id, 1)
    async with (
        mesh_backends(database_url, backends.redis_url) as mesh,
        worker_fleet(tmp_path, database_url, backends.redis_url, mesh.keys.prefix) as fleet,
    ):
        worker = await fleet.start()

        async def holds_everything() -> bool:
            return await lease_holders(mesh.redis, mesh.keys) == [worker.worker_id] * PARTITIONS

        await wait_until(holds_everything, "the worker to hold every lease")

        async with mesh.client() as client:
            submission = await client.record(org_id, actor, seq=0, sleep_ms=1000)

            async def started() -> bool:
                return (await worker.metrics()).get("command_queue_wait_seconds_count", 0) >= 1

            await wait_until(started, "the command to start", step=0.02)
            status = await conn.fetchval("SELECT status::text FROM commands WHERE id = $1", submission.command_id)
            assert status == "accepted", "the command should still be running when the worker is told to stop"
            worker.send(signal.SIGTERM)
            returncode = await worker.wait_exit(within=30)

        assert_clean_exit(worker, returncode)
        stored = await command_result(conn, submission.command_id)
        assert stored is not None
        worker_id = await conn.fetchval(
            "SELECT worker_id FROM command_probe_log WHERE command_id = $1", submission.command_id
        )
        row = {"status": stored["status"], "result_status": stored["result_status"], "worker_id": worker_id}
        assert row == {"status": "succeeded", "result_status": 200, "worker_id": worker.worker_id}
        # handed off, not abandoned: every lease released and the worker gone from the membership
        assert await lease_holders(mesh.redis, mesh.keys) == [None] * PARTITIONS
        assert await mesh.redis.zrange(mesh.keys.workers, 0, -1) == []
