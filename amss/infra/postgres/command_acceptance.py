"""Accepting commands for a 202 (the CommandAcceptance port): the accepted rows of one event-loop turn go in together.

Durable when promised (docs/architecture.md, mesh step 1): a caller that waits for its outcome needs
no row before the execution claims one; a caller about to get a `202 Accepted` (`Prefer:
respond-async`, or the wait ran out) does, so that its `Location` resolves and the redriver can
finish the command should Redis lose it. Under load many requests reach that point at once; each
would otherwise be its own statement and its own commit. The first submission of a loop turn
schedules a write for the end of that turn, which inserts every row queued so far in one statement
(`ON CONFLICT DO NOTHING`); a row that was final already (an execution got there first) gives its
stored outcome back instead, and the caller answers with it. If that statement is refused (one row
breaks a rule), the rows are written one by one, so each submitter hears only of its own refusal.
"""

from __future__ import annotations

import asyncio

import asyncpg

from amss.app.commands.envelope import Command
from amss.app.commands.outcomes import Outcome
from amss.infra.coalescing import Coalescer
from amss.infra.postgres.commands_repo import accept_commands
from amss.infra.postgres.sql import Connection

_Batch = list[tuple[Command, "asyncio.Future[Outcome | None]"]]


class CommandAcceptor:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._turn: Coalescer[Command, Outcome | None] = Coalescer(self._write)

    async def accept(self, command: Command) -> Outcome | None:
        """Returns once the command's accepted row is committed (None), or with the outcome stored on it
        already; raises what refused it."""
        return await self._turn.submit(command)

    async def _write(self, batch: _Batch) -> None:
        async with self._pool.acquire() as conn:
            try:
                stored = await accept_commands(conn, [command for command, _ in batch])
            except asyncpg.PostgresError:
                if len(batch) == 1:
                    raise
                await self._one_by_one(conn, batch)
                return
        for command, future in batch:
            if not future.done():
                future.set_result(stored.get(command.id))

    @staticmethod
    async def _one_by_one(conn: Connection, batch: _Batch) -> None:
        for command, future in batch:
            try:
                stored = await accept_commands(conn, [command])
            except Exception as exc:  # this submitter's own refusal
                if not future.done():
                    future.set_exception(exc)
                continue
            if not future.done():
                future.set_result(stored.get(command.id))

    async def close(self) -> None:
        await self._turn.close()
