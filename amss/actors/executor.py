"""Executes one command exactly once: the one entry point of the mesh's workers and of `AMSS_MESH=off`.

One transaction (docs/architecture.md, mesh step 4) whose first statement claims the command: it
locks the command's row if there is one — the accepted row a 202 wrote, or a final one from an
earlier delivery, whose stored outcome is then only re-sent without running anything. Otherwise
the handler runs, and one last statement writes its audit rows, its events and the command row
with the outcome (from the command the stream entry or the in-process bus carried; or completes
the accepted row), and it commits. The row's key is taken only by that last statement, so a 202's
accepted row, written while the command runs, never waits for it; should another delivery have
finished the command meanwhile, that statement writes nothing and this run rolls back to the
stored outcome.

A rule the handler breaks (a domain error, or a constraint the database enforces) rolls that
transaction back and is stored as a normal `failed` outcome in a second, short one that claims
the row the same way; anything else rolls everything back and is raised. The caller asks
`failures.is_transient` what it was: an infrastructure failure is delivered again; any other
error is stored at once as failed (`fail`) and dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from amss.app.commands.envelope import Command
from amss.app.commands.log import CommandJournal, CommandLog, Execution
from amss.app.commands.outcomes import CommandError, Failed, Outcome, infrastructure_failure, internal_failure
from amss.app.ports import UnitOfWork
from amss.domain.errors import DomainError, ValidationFailed

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommandContext:
    command: Command
    # the execution's database connection (the command log's), for executor-level diagnostic handlers
    connection: object
    worker_id: str
    # the audit rows and events of every unit of work the handler opens, written with the result
    journal: CommandJournal

    def unit_of_work(self) -> UnitOfWork:
        """A unit of work inside the command's transaction: services run unchanged, committed with the result."""
        return self.journal.unit_of_work()


CommandHandler = Callable[[CommandContext], Awaitable[Outcome]]


def rejection(error: DomainError) -> Failed:
    """The outcome of a command that broke this rule."""
    return Failed(CommandError(error.code, error.message, error.details or None))


# what the executor is handed: the whole command (a stream entry, the in-process bus, the redriver), or only
# its id (an entry written before entries carried the command): then its row must exist
CommandRef = Command | uuid.UUID


class CommandExecutor:
    def __init__(
        self, commands: CommandLog, handlers: Mapping[str, CommandHandler], timeout: float, worker_id: str
    ) -> None:
        self._log = commands
        self._handlers = handlers
        self._timeout = timeout
        self._worker_id = worker_id

    async def execute(self, ref: CommandRef) -> tuple[Command, Outcome] | None:
        """The command and its final outcome (run now, or stored earlier); None when only an id was given and
        no such command exists.

        The first statement locks the command's row if there is one; a final row's outcome is returned
        without running anything. The handler runs in that transaction, and its last statement writes the
        outcome with the journal — the row, or the accepted row completed. No savepoint: a rejection rolls
        the whole transaction back and is then recorded in a short second one, so a successful command —
        the common case — costs no extra round trips.
        """
        async with asyncio.timeout(self._timeout), self._log.execution() as conn:
            try:
                async with conn.transaction():
                    command = await _claim(conn, ref)
                    if command is None or isinstance(command, tuple):
                        return command
                    result, journal = await self._run(conn, command)
                    if not await self._store(journal, command, result):
                        raise _AlreadyFinal(command)
                    return command, result
            except _Rejected as rejected:
                return await self._record(conn, ref, rejection(rejected.error))
            except _AlreadyFinal as final:
                # another delivery finished it while this one ran: its effects rolled back, the stored outcome stands
                return await _stored(conn, final.command)

    async def _store(self, journal: CommandJournal, command: Command, result: Outcome) -> bool:
        """The handler's audit rows and events and the command's outcome, in one statement; false when the
        command was final already. A rule the journal breaks (a repeated event) is a rejection."""
        try:
            return await journal.finish(command, result)
        except Exception as exc:
            translated = self._log.translate(exc)
            if translated is None:
                raise
            raise _Rejected(translated) from exc

    @staticmethod
    async def _record(
        conn: Execution, ref: CommandRef, result: Outcome, error: str | None = None, attempts: int = 0
    ) -> tuple[Command, Outcome] | None:
        """Store a final outcome the handler did not commit (its effects rolled back), the same way: lock the
        row if there is one, then write or complete it — unless another delivery finished it meanwhile (then
        that outcome stands)."""
        async with conn.transaction():
            command = await _claim(conn, ref)
            if command is None or isinstance(command, tuple):
                return command
            if await conn.record(command, result, error, attempts):
                return command, result
        return await _stored(conn, command)

    async def begin_attempt(self, ref: CommandRef) -> int | None:
        """Count one more execution attempt (committed at once, writing the accepted row if there is none yet);
        None when the command is already final (or, given only an id, does not exist)."""
        return await self._log.count_attempt(ref)

    async def fail(
        self, ref: CommandRef, attempts: int, reason: str, *, transient: bool = True
    ) -> tuple[Command, Outcome] | None:
        """Give up on a command: it kept failing for infrastructure reasons (`transient`), or failed in a
        way no retry changes. Record it failed (500 INTERNAL) after `attempts` executions."""
        result = infrastructure_failure(attempts) if transient else internal_failure()
        async with asyncio.timeout(self._timeout), self._log.execution() as conn:
            return await self._record(conn, ref, result, reason[:2000], attempts)

    async def _run(self, conn: Execution, command: Command) -> tuple[Outcome, CommandJournal]:
        """The handler's result and the journal its units of work collected (not written yet)."""
        handler = self._handlers.get(command.type)
        if handler is None:
            raise _Rejected(_unknown(command))
        context = CommandContext(command, conn.connection, self._worker_id, conn.journal())
        try:
            return await handler(context), context.journal
        except DomainError as error:
            raise _Rejected(error) from error
        except Exception as exc:
            translated = self._log.translate(exc)
            if translated is None:
                raise
            raise _Rejected(translated) from exc


async def _claim(conn: Execution, ref: CommandRef) -> Command | tuple[Command, Outcome] | None:
    """The first statement of an execution: lock the command's row if there is one. The command to run;
    or (command, stored outcome) when its row is final; or None when only an id was given and there is no row."""
    locked = await conn.lock(ref.id if isinstance(ref, Command) else ref)
    if locked is None:
        return ref if isinstance(ref, Command) else None
    if locked.outcome is not None:
        return locked.command, locked.outcome
    return locked.command


async def _stored(conn: Execution, command: Command) -> tuple[Command, Outcome] | None:
    """The outcome another execution stored (read after this one rolled back)."""
    stored = await conn.lock(command.id)  # outside a transaction: a plain read
    return (stored.command, stored.outcome) if stored is not None and stored.outcome is not None else None


class _AlreadyFinal(Exception):
    """Another execution stored this command's outcome first: roll this one's effects back."""

    def __init__(self, command: Command) -> None:
        super().__init__(str(command.id))
        self.command = command


class _Rejected(Exception):
    """A broken rule, carried out of the command's transaction so that it rolls back."""

    def __init__(self, error: DomainError) -> None:
        super().__init__(error.message)
        self.error = error


def _unknown(command: Command) -> DomainError:
    return ValidationFailed(f"unknown command type {command.type!r}")
