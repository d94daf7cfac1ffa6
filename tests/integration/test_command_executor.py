"""The executor runs a command exactly once, stores its result with its effects, and rolls back rejections."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import orjson
import pytest

from amss.actors.executor import CommandContext, CommandExecutor
from amss.actors.partitioning import aircraft_actor
from amss.api.rest.outcomes import HttpResult, render_outcome
from amss.app.commands.envelope import Command
from amss.app.commands.outcomes import Failed, Outcome, Succeeded
from amss.bench.diagnostics import probe_connection
from amss.domain.audit import AuditEntry
from amss.domain.enums import AuditAction
from amss.domain.errors import Conflict
from amss.domain.events import DomainEvent, dedupe_key
from amss.infra.postgres.command_log import PgCommandLog
from amss.infra.postgres.commands_repo import insert_command
from amss.infra.postgres.sql import fetch_one
from tests.integration.factories import make_org


def _http(command: Command, outcome: Outcome | None) -> HttpResult:
    """The outcome as REST renders it (status, body): what the assertions compare."""
    assert outcome is not None
    return render_outcome(command.type, outcome, command.request_id)


async def _command(pool: asyncpg.Pool, command_type: str) -> Command:
    async with pool.acquire() as conn:
        org_id = await make_org(conn)
        command = Command(
            uuid.uuid4(), org_id, aircraft_actor(org_id, uuid.uuid4()), command_type, {}, {"job": "test"}, uuid.uuid4()
        )
        await insert_command(conn, command)
    return command


async def _probe(context: CommandContext) -> None:
    await probe_connection(context).execute(
        "INSERT INTO command_probe_log (command_id, actor, seq, worker_id, started_at) VALUES ($1, $2, 1, $3, now())",
        context.command.id,
        context.command.actor,
        context.worker_id,
    )


class Recorder:
    def __init__(self) -> None:
        self.calls = 0

    async def ok(self, context: CommandContext) -> Outcome:
        self.calls += 1
        await _probe(context)
        await asyncio.sleep(0.05)
        return Succeeded({"made": str(context.command.id)})

    async def rejected(self, context: CommandContext) -> Outcome:
        self.calls += 1
        await _probe(context)
        raise Conflict("the rule says no", {"why": "test"})

    async def violates(self, context: CommandContext) -> Outcome:
        self.calls += 1
        await _probe(context)
        await probe_connection(context).execute("INSERT INTO organizations (name) VALUES (NULL)")
        raise AssertionError("unreachable")

    async def broken(self, context: CommandContext) -> Outcome:
        self.calls += 1
        await _probe(context)
        raise ConnectionResetError("database went away")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def executor(pg_pool: asyncpg.Pool, recorder: Recorder) -> CommandExecutor:
    handlers = {
        "t.ok": recorder.ok,
        "t.rejected": recorder.rejected,
        "t.violates": recorder.violates,
        "t.broken": recorder.broken,
    }
    return CommandExecutor(PgCommandLog(pg_pool), handlers, timeout=5, worker_id="test-worker")


async def _row(pool: asyncpg.Pool, command_id: uuid.UUID) -> asyncpg.Record:
    async with pool.acquire() as conn:
        return await fetch_one(
            conn,
            "SELECT status::text, outcome_error->>'code' AS code, outcome_view::text AS body, outcome_error,"
            " completed_at,"
            " (SELECT count(*) FROM command_probe_log p WHERE p.command_id = c.id) AS effects"
            " FROM commands c WHERE id = $1",
            command_id,
        )


async def test_a_command_runs_once_and_a_repeat_returns_the_stored_result(
    executor: CommandExecutor, recorder: Recorder, pg_pool: asyncpg.Pool
) -> None:
    command = await _command(pg_pool, "t.ok")
    first = await executor.execute(command.id)
    second = await executor.execute(command.id)
    assert first is not None and second is not None
    assert first[1] == second[1]
    assert first[1] == Succeeded({"made": str(command.id)})
    assert recorder.calls == 1
    row = await _row(pg_pool, command.id)
    assert (row["status"], row["code"], row["effects"]) == ("succeeded", None, 1)
    assert row["body"].encode() == _http(command, first[1]).body


async def test_concurrent_executions_of_one_command_run_the_handler_once(
    executor: CommandExecutor, recorder: Recorder, pg_pool: asyncpg.Pool
) -> None:
    command = await _command(pg_pool, "t.ok")
    results = await asyncio.gather(*(executor.execute(command.id) for _ in range(5)))
    assert recorder.calls == 1
    assert len({_http(command, outcome[1]).body for outcome in results if outcome}) == 1
    assert (await _row(pg_pool, command.id))["effects"] == 1


async def test_a_rejection_is_a_failed_result_and_leaves_no_effects(
    executor: CommandExecutor, pg_pool: asyncpg.Pool
) -> None:
    command = await _command(pg_pool, "t.rejected")
    outcome = await executor.execute(command.id)
    assert outcome is not None
    body = orjson.loads(_http(command, outcome[1]).body)
    assert _http(command, outcome[1]).status_code == 409
    assert body == {
        "error": "the rule says no",
        "code": "CONFLICT",
        "request_id": str(command.request_id),
        "details": {"why": "test"},
    }
    row = await _row(pg_pool, command.id)
    assert (row["status"], row["code"], row["effects"]) == ("failed", "CONFLICT", 0)


async def test_a_database_rule_violation_becomes_a_failed_result(
    executor: CommandExecutor, pg_pool: asyncpg.Pool
) -> None:
    command = await _command(pg_pool, "t.violates")
    outcome = await executor.execute(command.id)
    assert outcome is not None
    assert _http(command, outcome[1]).status_code == 400
    row = await _row(pg_pool, command.id)
    assert (row["status"], row["effects"]) == ("failed", 0)


async def test_an_infrastructure_failure_rolls_back_and_leaves_the_command_accepted(
    executor: CommandExecutor, pg_pool: asyncpg.Pool
) -> None:
    command = await _command(pg_pool, "t.broken")
    with pytest.raises(ConnectionResetError):
        await executor.execute(command.id)
    row = await _row(pg_pool, command.id)
    assert (row["status"], row["code"], row["effects"]) == ("accepted", None, 0)
    failed = await executor.fail(command.id, 5, "gave up")
    assert failed is not None and _http(command, failed[1]).status_code == 500
    assert (await _row(pg_pool, command.id))["status"] == "failed"


async def test_an_unknown_type_is_rejected_and_a_missing_command_is_none(
    executor: CommandExecutor, pg_pool: asyncpg.Pool
) -> None:
    command = await _command(pg_pool, "t.nobody-handles-this")
    outcome = await executor.execute(command.id)
    assert outcome is not None and _http(command, outcome[1]).status_code == 400
    assert await executor.execute(uuid.uuid4()) is None


# --- the whole command handed over (a stream entry, or the in-process bus with the mesh off): the run claims
# --- the row; here its accepted row exists (a 202 wrote it) ---


async def _run(executor: CommandExecutor, command: Command) -> Outcome | None:
    done = await executor.execute(command)
    return done[1] if done is not None else None


async def test_a_handed_over_command_completes_its_row_and_a_repeat_returns_the_stored_result(
    executor: CommandExecutor, recorder: Recorder, pg_pool: asyncpg.Pool
) -> None:
    command = await _command(pg_pool, "t.ok")
    first = await _run(executor, command)
    second = await _run(executor, command)
    locked = await executor.execute(command.id)
    assert first is not None and locked is not None
    assert first == second == locked[1]
    assert first == Succeeded({"made": str(command.id)})
    assert recorder.calls == 1, "a repeat claims the row, finds it final and does not run the handler"
    row = await _row(pg_pool, command.id)
    assert (row["status"], row["code"], row["effects"]) == ("succeeded", None, 1)
    assert row["body"].encode() == _http(command, first).body


async def test_concurrent_runs_of_one_handed_over_command_commit_one_set_of_effects(
    executor: CommandExecutor, pg_pool: asyncpg.Pool
) -> None:
    command = await _command(pg_pool, "t.ok")
    results = await asyncio.gather(*(_run(executor, command) for _ in range(5)))
    assert len({_http(command, result).body for result in results if result is not None}) == 1
    assert None not in results
    assert (await _row(pg_pool, command.id))["effects"] == 1


async def test_a_handed_over_rejection_is_stored_without_effects(
    executor: CommandExecutor, pg_pool: asyncpg.Pool
) -> None:
    command = await _command(pg_pool, "t.rejected")
    result = await _run(executor, command)
    assert result is not None and _http(command, result).status_code == 409
    row = await _row(pg_pool, command.id)
    assert (row["status"], row["code"], row["effects"]) == ("failed", "CONFLICT", 0)
    assert isinstance(result, Failed)
    assert row["outcome_error"] == {
        "code": "CONFLICT",
        "message": result.error.message,
        "details": result.error.details,
    }
    # a repeat of a command that is final already leaves the stored result alone
    assert await _run(executor, command) == result


async def test_a_handed_over_infrastructure_failure_leaves_the_command_accepted(
    executor: CommandExecutor, pg_pool: asyncpg.Pool
) -> None:
    command = await _command(pg_pool, "t.broken")
    with pytest.raises(ConnectionResetError):
        await executor.execute(command)
    row = await _row(pg_pool, command.id)
    assert (row["status"], row["code"], row["effects"]) == ("accepted", None, 0)


async def test_a_command_known_only_by_an_id_without_a_row_runs_nothing(
    executor: CommandExecutor, recorder: Recorder, pg_pool: asyncpg.Pool
) -> None:
    command = await _command(pg_pool, "t.ok")
    ghost = Command(uuid.uuid4(), command.org_id, command.actor, "t.ok", {}, {"job": "test"})
    assert await executor.execute(ghost.id) is None
    assert recorder.calls == 0
    async with pg_pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM command_probe_log WHERE command_id = $1", ghost.id) == 0


# --- the journal: a handler's audit rows and events travel with the command's result ------------------


def _journal_handler(events: int) -> Callable[[CommandContext], Awaitable[Outcome]]:
    async def handler(context: CommandContext) -> Outcome:
        async with context.unit_of_work() as uow:
            await _probe(context)
            entity = context.command.id
            await uow.audit.add(AuditEntry(context.command.org_id, "probe", entity, AuditAction.CREATE, 1))
            for _ in range(events):  # a second event of one effect repeats its dedupe key
                await uow.outbox.add(
                    DomainEvent(
                        "task_created",
                        context.command.org_id,
                        "task",
                        entity,
                        datetime.now(UTC),
                        dedupe_key("task_created", context.command.org_id, entity),
                    )
                )
            await uow.commit()
        return Succeeded({})

    return handler


@pytest.mark.parametrize(
    ("locked", "row_exists"), [(True, True), (False, True), (False, False)], ids=["locked", "unlocked", "no-row"]
)
async def test_the_journal_commits_with_the_result_and_a_rule_it_breaks_is_a_rejection_without_effects(
    pg_pool: asyncpg.Pool, locked: bool, row_exists: bool
) -> None:
    executor = CommandExecutor(
        PgCommandLog(pg_pool),
        {"t.ok": _journal_handler(1), "t.repeats": _journal_handler(2)},
        timeout=5,
        worker_id="test",
    )
    outcomes: dict[str, Outcome | None] = {}
    for command_type in ("t.ok", "t.repeats"):
        command = await _command(pg_pool, command_type)
        if not row_exists:
            async with pg_pool.acquire() as conn:
                await conn.execute("DELETE FROM commands WHERE id = $1", command.id)
        if locked:
            outcome = await executor.execute(command.id)
            outcomes[command_type] = outcome[1] if outcome else None
        else:
            outcomes[command_type] = await _run(executor, command)
        async with pg_pool.acquire() as conn:
            written = await fetch_one(
                conn,
                "SELECT (SELECT count(*) FROM audit_logs WHERE entity_id = $1) AS audit,"
                " (SELECT count(*) FROM outbox_events WHERE aggregate_id = $1) AS events,"
                " (SELECT count(*) FROM command_probe_log WHERE command_id = $1) AS effects,"
                " (SELECT status::text FROM commands WHERE id = $1) AS status",
                command.id,
            )
        expected = (1, 1, 1, "succeeded") if command_type == "t.ok" else (0, 0, 0, "failed")
        assert tuple(written) == expected, command_type
    rejected = outcomes["t.repeats"]
    assert rejected is not None and _http(command, rejected).status_code == 409
    assert orjson.loads(_http(command, rejected).body)["code"] == "CONFLICT"
