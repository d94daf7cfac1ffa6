"""Partition hand-off, one PartitionConsumer after another on the same partition (as successive owners):
what the old owner had not started is run by the next one, in order, and a hand-off is not a failure."""

from __future__ import annotations

import asyncio
import functools
import uuid

import asyncpg
from prometheus_client import CollectorRegistry

from amss.actors.executor import CommandExecutor
from amss.actors.metrics import MeshMetrics
from amss.actors.partition import PartitionConsumer
from amss.actors.partitioning import partition_of
from amss.bench.diagnostics import DIAGNOSTIC_HANDLERS
from amss.infra.postgres.command_log import PgCommandLog
from amss.infra.redis.batching import PipelineBatcher
from tests.backends import Backends
from tests.integration.factories import make_org
from tests.mesh_support import (
    COMMAND_TIMEOUT,
    PARTITIONS,
    Load,
    MeshBackends,
    command_result,
    mesh_backends,
    new_actors,
    probe_rows,
    sequences_by_actor,
    wait_all_terminal,
    wait_until,
)

# the worker's AMSS_MAX_DELIVERIES (default 5); 2 keeps the test short: three hand-offs exceed it
MAX_DELIVERIES = 2


async def started_or_finished(conn: asyncpg.Connection, command_id: uuid.UUID) -> bool:
    """True once the command's execution holds its row lock, or the command is no longer `accepted`."""
    try:
        async with conn.transaction():
            status = await conn.fetchval(
                "SELECT status::text FROM commands WHERE id = $1 FOR UPDATE NOWAIT", command_id
            )
    except asyncpg.LockNotAvailableError:
        return True
    return bool(status != "accepted")


def owner(mesh: MeshBackends, partition: int, epoch: int, executor: CommandExecutor) -> PartitionConsumer:
    return PartitionConsumer(
        partition,
        epoch,
        client=mesh.redis,
        batcher=PipelineBatcher(mesh.redis),
        keys=mesh.keys,
        executor=executor,
        slots=asyncio.Semaphore(8),
        metrics=MeshMetrics.register(CollectorRegistry()),
        max_inflight=256,
        max_deliveries=MAX_DELIVERIES,
    )


async def test_commands_handed_off_before_they_started_are_run_by_the_next_owner_not_dead_lettered(
    database_url: str, backends: Backends, conn: asyncpg.Connection
) -> None:
    org_id = await make_org(conn)
    [actor] = new_actors(org_id, 1)
    partition = partition_of(actor, PARTITIONS)
    async with mesh_backends(database_url, backends.redis_url) as mesh:
        executor = CommandExecutor(PgCommandLog(mesh.pool), DIAGNOSTIC_HANDLERS, COMMAND_TIMEOUT, "handoff-test")
        async with mesh.client() as client:
            load = Load(client, org_id, [actor])
            slow = [(await load.send(actor, sleep_ms=300)).command_id for _ in range(3)]
            await load.send(actor)

        # three owners in turn, each handing off while one slow command runs: the commands behind it were
        # delivered to that owner but never started, so they have not failed once
        for epoch, running in enumerate(slow, start=1):
            consumer = owner(mesh, partition, epoch, executor)
            consumer.start()
            try:
                started = functools.partial(started_or_finished, conn, running)
                await wait_until(started, f"seq {epoch - 1} to start", step=0.01)
            finally:
                await consumer.stop(grace=5)

        consumer = owner(mesh, partition, len(slow) + 1, executor)
        consumer.start()
        try:
            await wait_all_terminal(conn, org_id, 4, within=20)
        finally:
            await consumer.stop(grace=5)
        dead_letters = await mesh.redis.xlen(mesh.keys.dead_letter_stream)

    ids = await conn.fetch("SELECT id FROM commands WHERE org_id = $1 ORDER BY created_at", org_id)
    outcomes = [await command_result(conn, row["id"]) or {} for row in ids]
    assert [(row["status"], row["result_status"]) for row in outcomes] == [("succeeded", 200)] * 4, (
        f"hand-offs were counted as failed attempts: {[dict(row) for row in outcomes]}; {dead_letters} dead letter(s)"
    )
    assert dead_letters == 0
    assert sequences_by_actor(await probe_rows(conn, org_id)) == {actor: [0, 1, 2, 3]}
