"""Commands with the mesh off (`AMSS_MESH=off`): run in the accepting process, their row written once.

The row is written with its result at the end of the command's own transaction; an accepted row
appears first only when the caller gets a 202 (no wait, or the wait ran out), so a Location always
resolves. If another execution completes the command first (its accepted row redriven to a
worker), the in-process one rolls its effects back and the stored result stands: exactly once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from typing import TYPE_CHECKING, Any

import asyncpg
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from amss.actors.bus import CommandBus
from amss.actors.executor import CommandContext, CommandExecutor
from amss.actors.partitioning import aircraft_actor
from amss.api.rest.outcomes import render_outcome
from amss.app.commands.envelope import Command
from amss.app.commands.outcomes import Outcome, Succeeded
from amss.bench import diagnostics
from amss.bench.diagnostics import probe_connection
from amss.bootstrap.server import init_server_app
from amss.config import Settings
from amss.domain.errors import Conflict
from amss.domain.principal import Actor
from amss.infra.postgres.command_acceptance import CommandAcceptor
from amss.infra.postgres.command_log import PgCommandLog
from amss.infra.postgres.commands_repo import insert_command
from amss.infra.redis.batching import PipelineBatcher
from amss.infra.redis.keys import KeySpace
from tests.api_support import Tenant
from tests.mesh_support import command_result, mesh_prefix, submit_diagnostic, wait_until

if TYPE_CHECKING:
    ApiClient = TestClient[web.Request, web.Application]


@pytest.fixture
async def api_app(api_settings: Settings) -> web.Application:
    """The API with the mesh off, plus a test-only route that submits `diag.record`."""
    settings = api_settings.model_copy(update={"amss_mesh": False, "amss_diagnostic_commands": True})
    app = init_server_app(settings)
    app.router.add_post("/test/diag/{org_id}/{aircraft_id}", submit_diagnostic)
    return app


async def post_diag(
    api: ApiClient, tenant: Tenant, payload: dict[str, int], prefer: str | None = None
) -> tuple[int, bytes, Any]:
    org_id = tenant.org_id
    headers = {**tenant["scheduler"].auth, **({"Prefer": prefer} if prefer else {})}
    async with api.post(f"/test/diag/{org_id}/{uuid.uuid4()}", json=payload, headers=headers) as response:
        return response.status, await response.read(), response.headers


async def command_row(conn: asyncpg.Connection, command_id: uuid.UUID) -> dict[str, Any] | None:
    return await command_result(conn, command_id)


async def probe_rows(conn: asyncpg.Connection, command_id: uuid.UUID) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM command_probe_log WHERE command_id = $1", command_id)
    return count


async def finished(conn: asyncpg.Connection, command_id: uuid.UUID) -> dict[str, Any]:
    async def done() -> bool:
        row = await command_row(conn, command_id)
        return row is not None and row["status"] != "accepted"

    await wait_until(done, f"command {command_id} to finish", within=20)
    row = await command_row(conn, command_id)
    assert row is not None
    return row


async def test_a_synchronous_answer_is_stored_byte_for_byte_with_its_command(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    status, raw, headers = await post_diag(api, tenant, {"seq": 1})
    assert status == 200, raw
    assert "Location" not in headers
    command_id = await conn.fetchval(
        "SELECT command_id FROM command_probe_log l JOIN commands c ON c.id = l.command_id WHERE c.org_id = $1",
        tenant.org_id,
    )
    row = await command_row(conn, command_id)
    assert row is not None
    assert (row["status"], row["result_status"], row["body"]) == ("succeeded", 200, raw.decode())
    assert await probe_rows(conn, command_id) == 1


async def test_when_the_wait_runs_out_the_202_location_resolves_and_the_command_finishes_once(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    status, raw, headers = await post_diag(api, tenant, {"seq": 1, "sleep_ms": 1500}, "wait=1")
    assert status == 202, raw
    command_id = uuid.UUID(orjson.loads(raw)["command_id"])
    # still sleeping inside its transaction: the accepted row is what a poll finds meanwhile
    row = await command_row(conn, command_id)
    assert row is not None and row["status"] == "accepted"
    async with api.get(headers["Location"], headers=tenant["auditor"].auth) as response:
        assert response.status == 200
        assert orjson.loads(await response.read())["status"] == "accepted"

    row = await finished(conn, command_id)
    assert (row["status"], row["result_status"]) == ("succeeded", 200)
    assert orjson.loads(row["body"])["seq"] == 1
    assert await probe_rows(conn, command_id) == 1


async def test_respond_async_writes_the_accepted_row_before_answering(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    status, raw, _ = await post_diag(api, tenant, {"seq": 7, "sleep_ms": 500}, "respond-async")
    assert status == 202, raw
    command_id = uuid.UUID(orjson.loads(raw)["command_id"])
    row = await command_row(conn, command_id)
    assert row is not None and row["status"] == "accepted"
    row = await finished(conn, command_id)
    assert row["status"] == "succeeded"
    assert await probe_rows(conn, command_id) == 1


def diag_command(org_id: uuid.UUID, payload: dict[str, int]) -> Command:
    return Command(
        id=uuid.uuid4(),
        org_id=org_id,
        actor=aircraft_actor(org_id, uuid.uuid4()),
        type="diag.record",
        payload=payload,
        principal={"job": "test"},
        request_id=None,
        reply_to=None,
    )


async def test_an_in_process_run_and_a_redrive_of_its_accepted_row_commit_one_set_of_effects(
    pg_pool: asyncpg.Pool, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    """The accepted row of a 202 is redriven to a worker while this process still runs it: the in-process run
    claimed the row first, so the redrive waits for its commit and only re-sends the stored outcome."""
    marker = 99
    worker_runs = 0

    async def slow_in_process(context: CommandContext) -> Outcome:
        await asyncio.sleep(0.7)
        await probe_connection(context).execute(
            "INSERT INTO command_probe_log (command_id, actor, seq, worker_id, started_at)"
            " VALUES ($1, $2, $3, $4, now())",
            uuid.uuid4(),
            context.command.actor,
            marker,
            context.worker_id,
        )
        return Succeeded({"by": "in-process"})

    async def quick_worker(context: CommandContext) -> Outcome:
        nonlocal worker_runs
        worker_runs += 1
        return Succeeded({"by": "worker"})

    in_process_executor = CommandExecutor(
        PgCommandLog(pg_pool), {"diag.record": slow_in_process}, 30.0, "api-in-process"
    )
    worker_executor = CommandExecutor(PgCommandLog(pg_pool), {"diag.record": quick_worker}, 30.0, "worker")
    command = diag_command(tenant.org_id, {"seq": 3})
    await insert_command(conn, command)  # the accepted row the 202 wrote

    in_process = asyncio.create_task(in_process_executor.execute(command))
    await asyncio.sleep(0.2)
    redriven = await worker_executor.execute(command.id)
    assert redriven is not None
    assert redriven[1] == Succeeded({"by": "in-process"}), "the redrive should re-send the stored result"
    done = await in_process
    assert done is not None and done[1] == redriven[1]
    assert worker_runs == 0, "the redrive found the command final: its handler must not run"
    effects = await conn.fetchval(
        "SELECT count(*) FROM command_probe_log WHERE actor = $1 AND seq = $2", command.actor, marker
    )
    assert effects == 1, "one set of effects"
    row = await command_row(conn, command.id)
    assert row is not None
    assert (row["status"], row["body"]) == ("succeeded", '{"by":"in-process"}')


async def _outcome_of(executor: CommandExecutor, command: Command) -> Outcome:
    done = await executor.execute(command)
    assert done is not None
    return done[1]


async def test_a_rejected_in_process_command_is_stored_failed_without_its_effects(
    pg_pool: asyncpg.Pool, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    async def breaks_a_rule(context: CommandContext) -> Outcome:
        await diagnostics.record(context)  # an effect, then a broken rule: the effect must not survive
        raise Conflict("the rule this command breaks")

    executor = CommandExecutor(PgCommandLog(pg_pool), {"diag.record": breaks_a_rule}, 30.0, "api-in-process")
    command = diag_command(tenant.org_id, {"seq": 1})
    result = render_outcome(command.type, await _outcome_of(executor, command), None)
    assert result.status_code == 409
    assert orjson.loads(result.body)["code"] == "CONFLICT"
    row = await command_row(conn, command.id)
    assert row is not None
    assert (row["status"], row["result_status"], row["body"]) == ("failed", 409, result.body.decode())
    assert await probe_rows(conn, command.id) == 0

    unknown = dataclasses.replace(command, id=uuid.uuid4(), type="diag.nonexistent")
    result = render_outcome(unknown.type, await _outcome_of(executor, unknown), None)
    assert (result.status_code, orjson.loads(result.body)["code"]) == (400, "VALIDATION_ERROR")


async def test_an_infrastructure_failure_within_the_wait_answers_202_and_leaves_the_command_to_the_redriver(
    pg_pool: asyncpg.Pool, redis_client: Any, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    """A timeout may strike after the commit went through: the caller gets a Location either way."""
    executor = CommandExecutor(PgCommandLog(pg_pool), {"diag.fail": diagnostics.fail}, 30.0, "api-in-process")
    bus = CommandBus(
        CommandAcceptor(pg_pool),
        redis_client,
        KeySpace(mesh_prefix()),
        4,
        None,
        executor,
        PipelineBatcher(redis_client),
    )
    try:
        failed = await bus.submit(
            tenant.org_id, aircraft_actor(tenant.org_id, uuid.uuid4()), "diag.fail", {}, Actor.for_job("test"), 5.0
        )
    finally:
        await bus.close()
    assert failed.outcome is None, "no answer to give: the caller polls"
    row = await command_row(conn, failed.command_id)
    assert row is not None and row["status"] == "accepted", "the redriver retries what rolled back"
