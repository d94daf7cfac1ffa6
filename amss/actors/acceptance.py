"""Accepting commands: the rows of the commands submitted in one turn of the event loop go in together.

Every command's row must be committed before its stream entry is added (docs/architecture.md, mesh step 1).
Under load many requests reach that step at once; each would otherwise be its own statement and
its own commit. The first submission of a loop turn schedules a write for the end of that turn,
which inserts every row queued so far in one statement; each submitter then adds its own stream
entry. If that statement is refused (one row breaks a rule), the rows are inserted one by one, so
each submitter hears only of its own refusal.
"""

from __future__ import annotations

import asyncio

import asyncpg

from amss.app.commands.envelope import Command
from amss.infra.coalescing import Coalescer
from amss.infra.postgres.commands_repo import insert_command, insert_commands
from amss.infra.postgres.sql import Connection


class CommandAcceptor:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._turn: Coalescer[Command, None] = Coalescer(self._write)

    async def accept(self, command: Command) -> None:
        """Returns once the command's row is committed; raises what refused it."""
        await self._turn.submit(command)

    async def _write(self, batch: list[tuple[Command, asyncio.Future[None]]]) -> None:
        async with self._pool.acquire() as conn:
            if len(batch) == 1:
                await insert_command(conn, batch[0][0])
            else:
                try:
                    await insert_commands(conn, [command for command, _ in batch])
                except asyncpg.PostgresError:
                    await self._one_by_one(conn, batch)
                    return
        for _, future in batch:
            if not future.done():
                future.set_result(None)

    @staticmethod
    async def _one_by_one(conn: Connection, batch: list[tuple[Command, asyncio.Future[None]]]) -> None:
        for command, future in batch:
            try:
                await insert_command(conn, command)
            except Exception as exc:  # this submitter's own refusal
                if not future.done():
                    future.set_exception(exc)
                continue
            if not future.done():
                future.set_result(None)

    async def close(self) -> None:
        await self._turn.close()
