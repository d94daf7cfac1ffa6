"""Executes one command exactly once.

One transaction: lock the command row; if it is already terminal, return the stored result;
otherwise run the handler, store its result on the row, commit (docs/architecture.md, mesh step 4). With the
mesh off the accepting process runs the command itself, before it has a row: `execute_unlocked`
writes the row (or completes the accepted one a 202 made) as the transaction's last statement.

A rule the handler breaks (a domain error, or a constraint the database enforces) rolls that
transaction back and is stored as a normal `failed` result in a second, short one; anything else
rolls everything back and is raised. The caller asks `failures.is_transient` what it was: an
infrastructure failure is delivered again; any other error is stored at once as failed (`fail`,
`fail_unlocked`) and dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import asyncpg

from amss.app.commands.envelope import Command
from amss.app.commands.outcomes import CommandError, Failed, Outcome, infrastructure_failure, internal_failure
from amss.app.ports import UnitOfWork
from amss.domain.errors import DomainError, ValidationFailed
from amss.infra.postgres.commands_repo import complete_command, completion, lock_command, outcome_row
from amss.infra.postgres.errors import translate
from amss.infra.postgres.journal import Journal
from amss.infra.postgres.sql import Connection, Statement
from amss.infra.postgres.uow import BoundUnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommandContext:
    command: Command
    connection: Connection
    worker_id: str
    # the audit rows and events of every unit of work the handler opens, written with the result
    journal: Journal = field(default_factory=Journal)

    def unit_of_work(self) -> UnitOfWork:
        """A unit of work inside the command's transaction: services run unchanged, committed with the result."""
        return BoundUnitOfWork(self.connection, self.journal)


CommandHandler = Callable[[CommandContext], Awaitable[Outcome]]


class UnknownCommandType(Exception):
    pass


def rejection(error: DomainError) -> Failed:
    """The outcome of a command that broke this rule."""
    return Failed(CommandError(error.code, error.message, error.details or None))


class CommandExecutor:
    def __init__(
        self, pool: asyncpg.Pool, handlers: Mapping[str, CommandHandler], timeout: float, worker_id: str
    ) -> None:
        self._pool = pool
        self._handlers = handlers
        self._timeout = timeout
        self._worker_id = worker_id

    async def execute(self, command_id: uuid.UUID) -> tuple[Command, Outcome] | None:
        """The command and its final result (run now, or stored earlier); None when no such command exists.

        The handler runs in the same transaction as the command row's lock and result, with no
        savepoint: a rejection rolls the whole transaction back and is then recorded in a short
        second one, so a successful command — the common case — costs no extra round trips.
        """
        async with asyncio.timeout(self._timeout), self._pool.acquire() as conn:
            try:
                async with conn.transaction():
                    locked = await lock_command(conn, command_id)
                    if locked is None:
                        return None
                    if locked.outcome is not None:
                        return locked.command, locked.outcome
                    result, journal = await self._run(conn, locked.command)
                    await self._store(conn, journal, completion(locked.command.id, result))
                    return locked.command, result
            except _Rejected as rejected:
                return await self._record(conn, command_id, rejected.error)

    async def execute_unlocked(self, command: Command, *, row_exists: bool) -> Outcome | None:
        """Run a command whose content the caller holds, without locking its row first; its final result.

        Mesh off: the accepting process runs the command; its row is written here, with the
        result, unless the caller is to get a 202 (`row_exists`: the accepted row was written
        first). The row is written or completed by the last statement of the command's
        transaction, only while not final: if another execution finished it meanwhile (the 202's
        accepted row redriven to a worker), this one's effects roll back and the stored result
        stands (None if there is no row at all). A rejection is stored by one statement of its own.
        """
        async with asyncio.timeout(self._timeout), self._pool.acquire() as conn:
            try:
                async with conn.transaction():
                    result, journal = await self._run(conn, command)
                    if not await self._store(conn, journal, _final(command, result, row_exists)):
                        raise _AlreadyFinal
                    return result
            except _Rejected as rejected:
                result = rejection(rejected.error)
                if await self._store(conn, Journal(), _final(command, result, row_exists)):
                    return result
            except _AlreadyFinal:
                pass
            stored = await lock_command(conn, command.id)  # outside a transaction: a plain read
        return stored.outcome if stored is not None else None

    @staticmethod
    async def _store(conn: Connection, journal: Journal, final: Statement) -> bool:
        """The handler's audit rows and events and the command's result, in one statement; false when the
        command was final already. A rule the journal breaks (a repeated event) is a rejection."""
        try:
            return bool(await journal.write_with(conn, final))
        except asyncpg.PostgresError as exc:
            translated = translate(exc)
            if translated is None:
                raise
            raise _Rejected(translated) from exc

    async def _record(
        self, conn: Connection, command_id: uuid.UUID, error: DomainError
    ) -> tuple[Command, Outcome] | None:
        """Store a rejection; the command's effects were rolled back with its transaction."""
        async with conn.transaction():
            locked = await lock_command(conn, command_id)
            if locked is None:
                return None
            if locked.outcome is not None:  # another delivery finished it meanwhile
                return locked.command, locked.outcome
            result = rejection(error)
            await complete_command(conn, locked.command.id, result)
            return locked.command, result

    async def begin_attempt(self, command_id: uuid.UUID) -> int | None:
        """Count one more execution attempt (committed at once); None when the command is already final."""
        async with self._pool.acquire() as conn:
            attempt: int | None = await conn.fetchval(
                "UPDATE commands SET delivery_count = delivery_count + 1 WHERE id = $1 AND status = 'accepted'"
                " RETURNING delivery_count",
                command_id,
            )
        return attempt

    async def fail(
        self, command_id: uuid.UUID, attempts: int, reason: str, *, transient: bool = True
    ) -> tuple[Command, Outcome] | None:
        """Give up on a command: it kept failing for infrastructure reasons (`transient`), or failed in a
        way no retry changes. Record it failed (500 INTERNAL) after `attempts` executions."""
        async with self._pool.acquire() as conn, conn.transaction():
            locked = await lock_command(conn, command_id)
            if locked is None:
                return None
            if locked.outcome is not None:
                return locked.command, locked.outcome
            result = infrastructure_failure(attempts) if transient else internal_failure()
            await conn.execute(
                "UPDATE commands SET delivery_count = GREATEST(delivery_count, $2) WHERE id = $1", command_id, attempts
            )
            await complete_command(conn, locked.command.id, result, error=reason[:2000])
            return locked.command, result

    async def fail_unlocked(self, command: Command, reason: str, *, row_exists: bool) -> Outcome | None:
        """Mesh off: record a command that failed deterministically in this process; its final result.

        Its effects rolled back with its transaction; one statement writes its row failed (500
        INTERNAL), or completes the accepted one. If another execution finished it meanwhile, that
        result stands (None if there is no row at all)."""
        result = internal_failure()
        statement = (
            completion(command.id, result, reason[:2000]) if row_exists else outcome_row(command, result, reason)
        )
        async with asyncio.timeout(self._timeout), self._pool.acquire() as conn:
            if await conn.fetchval(statement.sql, *statement.args) is not None:
                return result
            stored = await lock_command(conn, command.id)  # outside a transaction: a plain read
        return stored.outcome if stored is not None else None

    async def _run(self, conn: Connection, command: Command) -> tuple[Outcome, Journal]:
        """The handler's result and the journal its units of work collected (not written yet)."""
        handler = self._handlers.get(command.type)
        if handler is None:
            raise _Rejected(_unknown(command))
        context = CommandContext(command, conn, self._worker_id)
        try:
            return await handler(context), context.journal
        except DomainError as error:
            raise _Rejected(error) from error
        except asyncpg.PostgresError as exc:
            translated = translate(exc)
            if translated is None:
                raise
            raise _Rejected(translated) from exc


def _final(command: Command, result: Outcome, row_exists: bool) -> Statement:
    """Mesh off: complete the accepted row a 202 wrote, or write the row with its result."""
    return completion(command.id, result) if row_exists else outcome_row(command, result)


class _AlreadyFinal(Exception):
    """Another execution stored this command's result first: roll this one's effects back."""


class _Rejected(Exception):
    """A broken rule, carried out of the command's transaction so that it rolls back."""

    def __init__(self, error: DomainError) -> None:
        super().__init__(error.message)
        self.error = error


def _unknown(command: Command) -> DomainError:
    return ValidationFailed(f"unknown command type {command.type!r}")
