"""Diagnostic command types (enabled by AMSS_DIAGNOSTIC_COMMANDS=on, refused in production).

They exercise the mesh without touching the schedule: `diag.noop` does nothing (the benchmark's
unit of work); `diag.record` writes one row to `command_probe_log` — order, overlap and
exactly-once become SQL questions — optionally after sleeping; `diag.fail` always raises an
infrastructure error (a poison command: retried, then dead-lettered); `diag.defect` always raises
a deterministic error, as a bug in a handler would (failed at once, never retried).

Unlike the domain's commands (amss/app/handlers), these are submitted to an actor the caller
names (the tests and `amss bench mesh` choose it), and `diag.record` writes through the command's
own connection and names the executing worker, so they stay executor-level handlers over the
`CommandContext`; their payload is still parsed once into a typed model.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy
from pydantic import ConfigDict, StrictInt

from amss.actors.executor import CommandContext, CommandHandler
from amss.app.clock import utc_now
from amss.app.commands.base import CommandModel, parse_payload
from amss.app.commands.outcomes import Outcome, Succeeded
from amss.infra.postgres.sql import Connection


class Diagnostic(CommandModel):
    """A diagnostic command's payload; its actor is whichever the submitter names."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class Noop(Diagnostic):
    TYPE: ClassVar[str] = "diag.noop"


class Record(Diagnostic):
    TYPE: ClassVar[str] = "diag.record"
    seq: StrictInt = 0
    sleep_ms: StrictInt = 0


class Fail(Diagnostic):
    TYPE: ClassVar[str] = "diag.fail"


class Defect(Diagnostic):
    TYPE: ClassVar[str] = "diag.defect"


class DiagnosticInfrastructureError(ConnectionError):
    """Stands for a dependency that keeps failing."""


class DiagnosticDefect(ValueError):
    """Stands for a bug in a handler: the same error on every attempt."""


def probe_connection(context: CommandContext) -> Connection:
    """The execution's own Postgres connection (the command log's), which `diag.record` writes through."""
    connection = context.connection
    assert isinstance(connection, asyncpg.Connection | PoolConnectionProxy), "the command log is Postgres"
    return connection


def _ok(view: dict[str, Any]) -> Outcome:
    return Succeeded(view)


async def noop(context: CommandContext) -> Outcome:
    return _ok({"ok": True})


async def record(context: CommandContext) -> Outcome:
    started_at = utc_now()
    probe = parse_payload(Record, context.command.payload)
    if probe.sleep_ms > 0:
        await asyncio.sleep(probe.sleep_ms / 1000)
    seq = probe.seq
    await probe_connection(context).execute(
        "INSERT INTO command_probe_log (command_id, actor, seq, worker_id, started_at) VALUES ($1, $2, $3, $4, $5)",
        context.command.id,
        context.command.actor,
        seq,
        context.worker_id,
        started_at,
    )
    return _ok({"seq": seq, "worker_id": context.worker_id})


async def fail(context: CommandContext) -> Outcome:
    raise DiagnosticInfrastructureError("diag.fail: a dependency keeps failing")


async def defect(context: CommandContext) -> Outcome:
    raise DiagnosticDefect("diag.defect: a handler bug, the same on every attempt")


DIAGNOSTIC_HANDLERS: dict[str, CommandHandler] = {
    Noop.TYPE: noop,
    Record.TYPE: record,
    Fail.TYPE: fail,
    Defect.TYPE: defect,
}
