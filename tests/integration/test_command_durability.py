"""Durable when promised: a caller that waits writes no accepted row; a 202 does, racing the execution.

The API's accepted-row write (a 202: the wait ran out) races the execution's completion in both
orders: when the execution finished first, the API answers with the stored outcome instead of a
202; when the API wrote first, the execution locks and completes that accepted row. A duplicate
delivery of a completed command re-sends the stored outcome without running the handler again. A
command whose stream entry Redis loses while its caller waits ends as a 202, finished by the
redriver. Mesh on (a worker, real streams) and mesh off (the same executor entry point, in process).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import redis.asyncio as redis

from amss.actors.bus import CommandBus, enqueue
from amss.actors.executor import CommandContext, CommandExecutor
from amss.actors.node import MeshWorker
from amss.actors.partitioning import aircraft_actor
from amss.actors.replies import ReplyListener
from amss.app.commands.envelope import Command
from amss.app.commands.outcomes import Outcome, Succeeded
from amss.bench.diagnostics import probe_connection
from amss.domain.principal import Actor
from amss.infra.postgres.command_acceptance import CommandAcceptor
from amss.infra.postgres.command_log import PgCommandLog
from amss.infra.redis.batching import PipelineBatcher
from amss.infra.redis.keys import KeySpace
from tests.backends import Backends
from tests.integration.factories import make_org
from tests.mesh_support import PARTITIONS, mesh_prefix, mesh_worker, wait_until


async def _row(conn: asyncpg.Connection, command_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        "SELECT status::text AS status, outcome_view::text AS body, delivery_count,"
        " (SELECT count(*) FROM command_probe_log p WHERE p.command_id = c.id) AS effects"
        " FROM commands c WHERE id = $1",
        command_id,
    )


async def _finished(conn: asyncpg.Connection, command_id: uuid.UUID, within: float = 20) -> asyncpg.Record:
    async def done() -> bool:
        row = await _row(conn, command_id)
        return row is not None and row["status"] != "accepted"

    await wait_until(done, f"command {command_id} to finish", within=within, step=0.05)
    row = await _row(conn, command_id)
    assert row is not None
    return row


# --- mesh on -------------------------------------------------------------------------------------


@pytest.fixture
async def keys(redis_client: redis.Redis) -> AsyncIterator[KeySpace]:
    space = KeySpace(mesh_prefix())
    yield space
    async for key in redis_client.scan_iter(match=space.pattern, count=500):
        await redis_client.delete(key)


@pytest.fixture
async def mesh(database_url: str, backends: Backends, keys: KeySpace) -> AsyncIterator[MeshWorker]:
    async with mesh_worker(database_url, backends.redis_url, keys) as worker:
        yield worker


def _bus(pool: asyncpg.Pool, client: redis.Redis, keys: KeySpace, listener: ReplyListener) -> CommandBus:
    return CommandBus(CommandAcceptor(pool), client, keys, PARTITIONS, listener, None, PipelineBatcher(client))


async def _record(bus: CommandBus, org_id: uuid.UUID, sleep_ms: int, wait: float) -> tuple[Command, Outcome | None]:
    actor = aircraft_actor(org_id, uuid.uuid4())
    payload = {"seq": 0, "sleep_ms": sleep_ms}
    submission = await bus.submit(org_id, actor, "diag.record", payload, Actor.for_job("test"), wait)
    return submission.command, submission.outcome


async def test_mesh_on_worker_first_the_api_answers_with_the_stored_outcome_instead_of_202(
    pg_pool: asyncpg.Pool, redis_client: redis.Redis, keys: KeySpace, mesh: MeshWorker, conn: asyncpg.Connection
) -> None:
    """The reply never reaches this process (its listener does not read): the wait runs out after the worker
    committed, so the accepted-row write finds the row final and the caller gets the outcome, not a 202."""
    org_id = await make_org(conn)
    deaf = ReplyListener(redis_client, keys.reply_stream(f"deaf-{uuid.uuid4().hex}"))  # never started
    bus = _bus(pg_pool, redis_client, keys, deaf)
    try:
        command, outcome = await _record(bus, org_id, sleep_ms=0, wait=1.5)
    finally:
        await bus.close()
    row = await _row(conn, command.id)
    assert row is not None and row["status"] == "succeeded"
    assert outcome is not None, "the worker got there first: the stored outcome, not a 202"
    assert isinstance(outcome, Succeeded) and outcome.view is not None
    assert outcome.view["worker_id"] == mesh.config.worker_id
    assert (row["effects"], row["delivery_count"]) == (1, 0)


async def test_mesh_on_api_first_the_worker_locks_and_completes_the_accepted_row(
    pg_pool: asyncpg.Pool, redis_client: redis.Redis, keys: KeySpace, mesh: MeshWorker, conn: asyncpg.Connection
) -> None:
    org_id = await make_org(conn)
    listener = ReplyListener(redis_client, keys.reply_stream(f"api-{uuid.uuid4().hex}"))
    listener.start()
    bus = _bus(pg_pool, redis_client, keys, listener)
    try:
        started = time.monotonic()
        command, outcome = await _record(bus, org_id, sleep_ms=1200, wait=0.3)
        assert outcome is None, "the wait ran out first: a 202"
        assert time.monotonic() - started < 1.0, "the accepted row must not wait for the running command"
        row = await _row(conn, command.id)
        assert row is not None and row["status"] == "accepted", "the Location resolves while the command runs"
        row = await _finished(conn, command.id)
    finally:
        await bus.close()
        await listener.stop()
    assert (row["status"], row["effects"]) == ("succeeded", 1)


async def test_mesh_on_a_duplicate_delivery_of_a_completed_command_resends_the_stored_outcome(
    pg_pool: asyncpg.Pool, redis_client: redis.Redis, keys: KeySpace, mesh: MeshWorker, conn: asyncpg.Connection
) -> None:
    org_id = await make_org(conn)
    listener = ReplyListener(redis_client, keys.reply_stream(f"api-{uuid.uuid4().hex}"))
    listener.start()
    bus = _bus(pg_pool, redis_client, keys, listener)
    try:
        command, first = await _record(bus, org_id, sleep_ms=0, wait=10)
        assert first is not None
        stored = await _row(conn, command.id)
        # the same entry again (a redelivery after a lost acknowledgement, a redrive): answered from the row
        again = listener.expect(command.id)
        await enqueue(redis_client, keys, PARTITIONS, command)
        assert await asyncio.wait_for(again, 10) == first
    finally:
        await bus.close()
        await listener.stop()
    row = await _row(conn, command.id)
    assert row is not None and stored is not None
    assert (row["status"], row["body"], row["effects"]) == ("succeeded", stored["body"], 1), "the handler ran once"


async def test_a_command_whose_entry_redis_loses_while_its_caller_waits_ends_as_202_and_redriven(
    pg_pool: asyncpg.Pool,
    redis_client: redis.Redis,
    keys: KeySpace,
    database_url: str,
    backends: Backends,
    conn: asyncpg.Connection,
) -> None:
    org_id = await make_org(conn)
    listener = ReplyListener(redis_client, keys.reply_stream(f"api-{uuid.uuid4().hex}"))
    listener.start()
    bus = _bus(pg_pool, redis_client, keys, listener)
    try:
        waiting = asyncio.create_task(_record(bus, org_id, sleep_ms=0, wait=1.0))
        await asyncio.sleep(0.3)  # the entry is on its stream, nobody has read it: Redis loses it
        streams = [keys.command_stream(p) for p in range(PARTITIONS)]
        assert await redis_client.delete(*streams) == 1
        command, outcome = await waiting
        assert outcome is None, "the wait ran out: a 202"
        row = await _row(conn, command.id)
        assert row is not None and row["status"] == "accepted", "promised, so written before the 202"
        async with mesh_worker(database_url, backends.redis_url, keys) as worker:
            row = await _finished(conn, command.id, within=30)
            assert (row["status"], row["effects"]) == ("succeeded", 1), "the redriver finished it"
            assert worker.config.worker_id in (row["body"] or "")
    finally:
        await bus.close()
        await listener.stop()


# --- mesh off: the same executor entry point, in process -------------------------------------------


class Recorder:
    def __init__(self, sleep: float = 0.0) -> None:
        self.calls = 0
        self.sleep = sleep

    async def record(self, context: CommandContext) -> Outcome:
        self.calls += 1
        await asyncio.sleep(self.sleep)
        await probe_connection(context).execute(
            "INSERT INTO command_probe_log (command_id, actor, seq, worker_id, started_at)"
            " VALUES ($1, $2, 0, $3, now())",
            context.command.id,
            context.command.actor,
            context.worker_id,
        )
        return Succeeded({"by": context.worker_id})


def _command(org_id: uuid.UUID) -> Command:
    return Command(uuid.uuid4(), org_id, aircraft_actor(org_id, uuid.uuid4()), "diag.record", {}, {"job": "test"})


async def test_mesh_off_execution_first_the_accepted_row_write_gives_the_stored_outcome(
    pg_pool: asyncpg.Pool, conn: asyncpg.Connection
) -> None:
    recorder = Recorder()
    executor = CommandExecutor(PgCommandLog(pg_pool), {"diag.record": recorder.record}, 10.0, "api-in-process")
    acceptor = CommandAcceptor(pg_pool)
    command = _command(await make_org(conn))
    try:
        done = await executor.execute(command)
        assert done is not None
        assert await acceptor.accept(command) == done[1], "final already: the stored outcome, not a 202"
    finally:
        await acceptor.close()
    row = await _row(conn, command.id)
    assert row is not None and (row["status"], row["effects"]) == ("succeeded", 1)


async def test_mesh_off_api_first_the_execution_completes_the_accepted_row(
    pg_pool: asyncpg.Pool, conn: asyncpg.Connection
) -> None:
    recorder = Recorder(sleep=0.8)
    executor = CommandExecutor(PgCommandLog(pg_pool), {"diag.record": recorder.record}, 10.0, "api-in-process")
    acceptor = CommandAcceptor(pg_pool)
    command = _command(await make_org(conn))
    try:
        running = asyncio.create_task(executor.execute(command))
        await asyncio.sleep(0.2)  # the execution holds its transaction open
        started = time.monotonic()
        assert await acceptor.accept(command) is None, "a 202: the accepted row is committed"
        assert time.monotonic() - started < 0.5 and not running.done(), "without waiting for the execution"
        row = await _row(conn, command.id)
        assert row is not None and row["status"] == "accepted"
        done = await running
    finally:
        await acceptor.close()
    assert done is not None and done[1] == Succeeded({"by": "api-in-process"})
    row = await _row(conn, command.id)
    assert row is not None and (row["status"], row["effects"]) == ("succeeded", 1)
    assert recorder.calls == 1


async def test_mesh_off_a_duplicate_of_a_completed_command_resends_the_stored_outcome(
    pg_pool: asyncpg.Pool, redis_client: redis.Redis, conn: asyncpg.Connection
) -> None:
    recorder = Recorder()
    executor = CommandExecutor(PgCommandLog(pg_pool), {"diag.record": recorder.record}, 10.0, "api-in-process")
    bus = CommandBus(
        CommandAcceptor(pg_pool),
        redis_client,
        KeySpace(mesh_prefix()),
        PARTITIONS,
        None,
        executor,
        PipelineBatcher(redis_client),
    )
    org_id = await make_org(conn)
    try:
        submission = await bus.submit(
            org_id, aircraft_actor(org_id, uuid.uuid4()), "diag.record", {}, Actor.for_job("test"), 5.0
        )
    finally:
        await bus.close()
    assert submission.outcome is not None
    again = await executor.execute(submission.command)  # the same command handed over again
    assert again is not None and again[1] == submission.outcome
    assert recorder.calls == 1, "the handler ran once"
    row = await _row(conn, submission.command_id)
    assert row is not None and (row["status"], row["effects"]) == ("succeeded", 1)
