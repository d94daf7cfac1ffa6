"""The command log port (amss/app/commands/log.py) over Postgres: one pool, the statements of commands_repo.

An execution borrows one connection; its journal is the unit of work's (audit rows and events
collected, written with the outcome row in one statement).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import timedelta

import asyncpg

from amss.app.commands.envelope import Command
from amss.app.commands.log import CommandJournal, Execution, LockedCommand, StoredCommand
from amss.app.commands.outcomes import Outcome
from amss.app.ports import UnitOfWork
from amss.domain.errors import DomainError
from amss.infra.postgres.commands_repo import (
    claim_stale_commands,
    count_attempt,
    count_attempt_of,
    get_command,
    lock_command,
    outcome_row,
)
from amss.infra.postgres.errors import PgErrorTranslator
from amss.infra.postgres.journal import Journal
from amss.infra.postgres.sql import Connection
from amss.infra.postgres.uow import BoundUnitOfWork


class PgCommandJournal:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._journal = Journal()

    def unit_of_work(self) -> UnitOfWork:
        return BoundUnitOfWork(self._conn, self._journal)

    async def finish(self, command: Command, outcome: Outcome) -> bool:
        return bool(await self._journal.write_with(self._conn, outcome_row(command, outcome)))


class PgExecution:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @property
    def connection(self) -> Connection:
        return self._conn

    def transaction(self) -> AbstractAsyncContextManager[object]:
        return self._conn.transaction()

    async def lock(self, command_id: uuid.UUID) -> LockedCommand | None:
        return await lock_command(self._conn, command_id)

    def journal(self) -> CommandJournal:
        return PgCommandJournal(self._conn)

    async def record(self, command: Command, outcome: Outcome, error: str | None, attempts: int) -> bool:
        final = outcome_row(command, outcome, error, attempts)
        return bool(await self._conn.fetchval(final.sql, *final.args))


class PgCommandLog:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @asynccontextmanager
    async def execution(self) -> AsyncIterator[Execution]:
        async with self._pool.acquire() as conn:
            yield PgExecution(conn)

    async def count_attempt(self, command: Command | uuid.UUID) -> int | None:
        async with self._pool.acquire() as conn:
            if isinstance(command, Command):
                return await count_attempt(conn, command)
            return await count_attempt_of(conn, command)

    async def claim_stale(self, older_than: timedelta, limit: int) -> list[Command]:
        async with self._pool.acquire() as conn:
            return await claim_stale_commands(conn, older_than, limit)

    async def find(self, org_id: uuid.UUID, command_id: uuid.UUID) -> StoredCommand | None:
        async with self._pool.acquire() as conn:
            return await get_command(conn, org_id, command_id)

    def translate(self, error: Exception) -> DomainError | None:
        return _ERRORS.translate(error)


_ERRORS = PgErrorTranslator()
