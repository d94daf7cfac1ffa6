"""A deterministic failure fails its command at once; only a transient one is retried — mesh on and off.

`diag.defect` raises the same error on every attempt (a bug in a handler): it runs once, answers
500 INTERNAL (naming nothing internal), is logged once with its traceback, has one dead letter,
and the next command of the same actor runs straight after. `diag.fail` stands for a dependency
that keeps failing: it is still retried.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import asyncpg
import orjson
import pytest
import redis.asyncio as redis

from amss.actors.bus import CommandBus
from amss.actors.executor import CommandExecutor
from amss.bench import diagnostics
from amss.domain.principal import Actor
from amss.infra.postgres.command_acceptance import CommandAcceptor
from amss.infra.postgres.command_log import PgCommandLog
from amss.infra.redis.batching import PipelineBatcher
from amss.infra.redis.keys import KeySpace
from tests.backends import Backends
from tests.integration.factories import make_org
from tests.mesh_support import (
    answer,
    answered,
    command_result,
    mesh_backends,
    mesh_prefix,
    mesh_worker,
    new_actors,
    probe_rows,
    sequences_by_actor,
    wait_until,
)

# far more than the test waits for, had a deterministic error still been retried with backoff
MANY_DELIVERIES = 40


async def _command(conn: asyncpg.Connection, command_id: uuid.UUID) -> Any:
    return await command_result(conn, command_id)


def _dead_letters(entries: Any) -> list[dict[str, str]]:
    return [{bytes(key).decode(): bytes(value).decode() for key, value in entry.items()} for _, entry in entries]


def _failure_logs(caplog: pytest.LogCaptureFixture, command_id: uuid.UUID) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.levelno >= logging.ERROR and getattr(record, "command_id", None) == str(command_id)
    ]


def _assert_internal_answer(body: bytes | str) -> None:
    answer = orjson.loads(body)
    assert answer["code"] == "INTERNAL"
    for secret in ("diag", "Defect", "ValueError", "Traceback", "attempt"):
        assert secret not in answer["error"], answer


async def test_mesh_a_deterministic_failure_runs_once_answers_500_and_its_actor_moves_on(
    database_url: str, backends: Backends, conn: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    org_id = await make_org(conn)
    [actor] = new_actors(org_id, 1)
    caplog.set_level(logging.INFO)
    async with (
        mesh_backends(database_url, backends.redis_url) as mesh,
        mesh_worker(database_url, backends.redis_url, mesh.keys, max_deliveries=MANY_DELIVERIES),
        mesh.client() as client,
    ):
        started = time.monotonic()
        broken = await client.submit(org_id, actor, "diag.defect", {}, wait=10)
        follower = await client.record(org_id, actor, 1, wait=10)
        elapsed = time.monotonic() - started
        dead_letters = _dead_letters(await mesh.redis.xrange(mesh.keys.dead_letter_stream))

    assert answer(broken) is not None, "a deterministic failure was retried past the wait"
    assert answered(broken).status_code == 500
    _assert_internal_answer(answered(broken).body)
    assert answer(follower) is not None and answered(follower).status_code == 200
    assert elapsed < 10, elapsed

    row = await _command(conn, broken.command_id)
    assert (row["status"], row["result_status"], row["delivery_count"]) == ("failed", 500, 1)
    assert row["body"] == answered(broken).body.decode()
    assert "DiagnosticDefect" in row["error"]
    assert [(d["command_id"], d["actor"], d["type"], d["deliveries"]) for d in dead_letters] == [
        (str(broken.command_id), actor, "diag.defect", "1")
    ]
    assert "DiagnosticDefect" in dead_letters[0]["error"]
    assert sequences_by_actor(await probe_rows(conn, org_id)) == {actor: [1]}

    [logged] = _failure_logs(caplog, broken.command_id)
    assert logged.exc_info is not None and logged.exc_info[0] is diagnostics.DiagnosticDefect
    attempts = [r for r in caplog.records if r.getMessage() == "command attempt failed"]
    assert not [r for r in attempts if getattr(r, "command_id", None) == str(broken.command_id)]


async def test_mesh_a_transient_failure_is_still_retried_before_it_is_dead_lettered(
    database_url: str, backends: Backends, conn: asyncpg.Connection
) -> None:
    org_id = await make_org(conn)
    [actor] = new_actors(org_id, 1)
    async with (
        mesh_backends(database_url, backends.redis_url) as mesh,
        mesh_worker(database_url, backends.redis_url, mesh.keys, max_deliveries=2),
        mesh.client() as client,
    ):
        poison = await client.submit(org_id, actor, "diag.fail", {}, wait=20)
        dead_letters = _dead_letters(await mesh.redis.xrange(mesh.keys.dead_letter_stream))

    assert answer(poison) is not None and answered(poison).status_code == 500
    row = await _command(conn, poison.command_id)
    assert row["status"] == "failed"
    assert row["delivery_count"] > 1, "a transient failure was not retried"
    assert [(d["command_id"], d["deliveries"]) for d in dead_letters] == [(str(poison.command_id), "2")]


async def test_mesh_off_a_deterministic_failure_answers_500_at_once_with_one_dead_letter(
    pg_pool: asyncpg.Pool,
    redis_client: redis.Redis,
    conn: asyncpg.Connection,
    caplog: pytest.LogCaptureFixture,
) -> None:
    org_id = await make_org(conn)
    [actor] = new_actors(org_id, 1)
    keys = KeySpace(mesh_prefix())
    executor = CommandExecutor(PgCommandLog(pg_pool), diagnostics.DIAGNOSTIC_HANDLERS, 30.0, "api-in-process")
    bus = CommandBus(CommandAcceptor(pg_pool), redis_client, keys, 4, None, executor, PipelineBatcher(redis_client))
    caplog.set_level(logging.INFO)
    try:
        broken = await bus.submit(org_id, actor, "diag.defect", {}, Actor.for_job("test"), 5.0)
        follower = await bus.submit(org_id, actor, "diag.record", {"seq": 1}, Actor.for_job("test"), 5.0)
        dead_letters = _dead_letters(await redis_client.xrange(keys.dead_letter_stream))
    finally:
        await bus.close()
        await redis_client.delete(keys.dead_letter_stream)

    assert answer(broken) is not None, "a deterministic failure was left to the redriver (a 202)"
    assert answered(broken).status_code == 500
    _assert_internal_answer(answered(broken).body)
    row = await _command(conn, broken.command_id)
    assert (row["status"], row["result_status"], row["body"]) == ("failed", 500, answered(broken).body.decode())
    assert "DiagnosticDefect" in row["error"]
    assert [(d["command_id"], d["actor"], d["type"]) for d in dead_letters] == [
        (str(broken.command_id), actor, "diag.defect")
    ]
    [logged] = _failure_logs(caplog, broken.command_id)
    assert logged.exc_info is not None and logged.exc_info[0] is diagnostics.DiagnosticDefect
    assert answer(follower) is not None and answered(follower).status_code == 200


async def test_mesh_off_a_deterministic_failure_past_the_wait_completes_its_accepted_row(
    pg_pool: asyncpg.Pool, redis_client: redis.Redis, conn: asyncpg.Connection
) -> None:
    """No wait: the caller has its 202; the failure completes the accepted row instead of leaving it to the redriver."""
    org_id = await make_org(conn)
    [actor] = new_actors(org_id, 1)
    keys = KeySpace(mesh_prefix())
    executor = CommandExecutor(PgCommandLog(pg_pool), diagnostics.DIAGNOSTIC_HANDLERS, 30.0, "api-in-process")
    bus = CommandBus(CommandAcceptor(pg_pool), redis_client, keys, 4, None, executor, PipelineBatcher(redis_client))
    try:
        broken = await bus.submit(org_id, actor, "diag.defect", {}, Actor.for_job("test"), 0.0)
        assert broken.outcome is None

        async def final() -> bool:
            row = await _command(conn, broken.command_id)
            return row is not None and row["status"] != "accepted"

        await wait_until(final, "the failed command's row", within=10)
        dead_letters = await redis_client.xlen(keys.dead_letter_stream)
    finally:
        await bus.close()
        await redis_client.delete(keys.dead_letter_stream)
    row = await _command(conn, broken.command_id)
    assert (row["status"], row["result_status"]) == ("failed", 500)
    _assert_internal_answer(row["body"])
    assert dead_letters == 1
