"""Diagnostic command types (enabled by AMSS_DIAGNOSTIC_COMMANDS=on, refused in production).

They exercise the mesh without touching the schedule: `diag.noop` does nothing (the benchmark's
unit of work); `diag.record` writes one row to `command_probe_log` — order, overlap and
exactly-once become SQL questions — optionally after sleeping; `diag.fail` always raises an
infrastructure error (a poison command: retried, then dead-lettered); `diag.defect` always raises
a deterministic error, as a bug in a handler would (failed at once, never retried).
"""

from __future__ import annotations

import asyncio
from typing import Any

from amss.actors.executor import CommandContext, CommandHandler
from amss.app.clock import utc_now
from amss.app.commands.outcomes import Outcome, Succeeded


class DiagnosticInfrastructureError(ConnectionError):
    """Stands for a dependency that keeps failing."""


class DiagnosticDefect(ValueError):
    """Stands for a bug in a handler: the same error on every attempt."""


def _ok(view: dict[str, Any]) -> Outcome:
    return Succeeded(view)


async def noop(context: CommandContext) -> Outcome:
    return _ok({"ok": True})


async def record(context: CommandContext) -> Outcome:
    started_at = utc_now()
    sleep_ms = int(context.command.payload.get("sleep_ms", 0))
    if sleep_ms > 0:
        await asyncio.sleep(sleep_ms / 1000)
    seq = int(context.command.payload.get("seq", 0))
    await context.connection.execute(
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
    "diag.noop": noop,
    "diag.record": record,
    "diag.fail": fail,
    "diag.defect": defect,
}
