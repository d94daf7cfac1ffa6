"""Two amss-worker processes share the partitions; every actor's commands still run once each, in order."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import asyncpg
import pytest

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
    probe_rows,
    wait_all_terminal,
    wait_until,
    worker_fleet,
)

ACTORS = 50
COMMANDS_PER_ACTOR = 20
SUBMITTERS = 4


@pytest.mark.timeout(180)
async def test_each_actor_runs_its_commands_exactly_once_in_submission_order_across_two_workers(
    database_url: str, backends: Backends, conn: asyncpg.Connection, tmp_path: Path
) -> None:
    org_id = await make_org(conn)
    actors = new_actors(org_id, ACTORS)
    worker_ids = balanced_worker_ids(2)
    async with (
        mesh_backends(database_url, backends.redis_url) as mesh,
        worker_fleet(tmp_path, database_url, backends.redis_url, mesh.keys.prefix) as fleet,
    ):
        for worker_id in worker_ids:
            await fleet.start(worker_id)

        async def shared_between_both() -> bool:
            holders = await lease_holders(mesh.redis, mesh.keys)
            return None not in holders and set(holders) == set(worker_ids)

        await wait_until(shared_between_both, f"the {PARTITIONS} leases to be shared by both workers")

        async with contextlib.AsyncExitStack() as stack:
            # four submitters, each with its own bus and reply stream, interleaving their actors' commands
            clients = [await stack.enter_async_context(mesh.client()) for _ in range(SUBMITTERS)]
            loads = [Load(client, org_id, actors[n::SUBMITTERS]) for n, client in enumerate(clients)]
            await asyncio.gather(*(load.run(COMMANDS_PER_ACTOR) for load in loads))

        total = ACTORS * COMMANDS_PER_ACTOR
        await wait_all_terminal(conn, org_id, total, within=90)
        await assert_exactly_once(conn, org_id, total)
        rows = await probe_rows(conn, org_id)
        assert_actor_order(rows, {actor: seqs for load in loads for actor, seqs in load.submitted.items()})
        assert {row["worker_id"] for row in rows} == set(worker_ids), "both workers should have executed commands"
