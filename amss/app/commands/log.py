"""The command log as the mesh and the fronts use it: a port (amss/infra/postgres/command_log.py implements it).

The durable record of every command and its outcome (docs/architecture.md, mesh steps 1 and 4). An
execution is one connection: its first statement locks the command's row if there is one, the
handler's units of work run in its transaction collecting their audit rows and events in a journal,
and its last statement writes them with the outcome. The accepted rows of a 202 are written through
`CommandAcceptance`, which batches the submissions of one event-loop turn.
"""

from __future__ import annotations

import uuid
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from amss.app.commands.envelope import Command
from amss.app.commands.outcomes import Outcome
from amss.app.ports import UnitOfWork
from amss.domain.enums import CommandStatus
from amss.domain.errors import DomainError


@dataclass(frozen=True)
class StoredCommand:
    """What a poll of GET /commands/{id} shows."""

    id: uuid.UUID
    org_id: uuid.UUID
    type: str
    status: CommandStatus
    outcome: Outcome | None
    request_id: uuid.UUID | None
    created_at: datetime
    completed_at: datetime | None


@dataclass(frozen=True)
class LockedCommand:
    """A command's row, locked by an execution: the command, and its outcome once final."""

    command: Command
    status: CommandStatus
    outcome: Outcome | None


class CommandJournal(Protocol):
    """What one run of a handler writes, collected and written with the outcome in one statement."""

    def unit_of_work(self) -> UnitOfWork:
        """A unit of work inside the execution's transaction, collecting into this journal."""
        ...

    async def finish(self, command: Command, outcome: Outcome) -> bool:
        """The journal and the command's row with its outcome (or its accepted row completed), in one statement;
        false when the row was final already (another delivery finished it). A database error is raised as it is
        (`CommandLog.translate` says which rule it broke)."""
        ...


class Execution(Protocol):
    """One execution's connection."""

    @property
    def connection(self) -> object:
        """The database connection itself, for executor-level diagnostic handlers (amss/bench/diagnostics.py)."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[object]: ...

    async def lock(self, command_id: uuid.UUID) -> LockedCommand | None:
        """The command's row locked until the transaction ends (a plain read outside one); None when absent."""
        ...

    def journal(self) -> CommandJournal:
        """A fresh journal for one run of the handler over this connection."""
        ...

    async def record(self, command: Command, outcome: Outcome, error: str | None, attempts: int) -> bool:
        """Write the row with a final outcome the handler did not commit (or complete the accepted one); false
        when it was final already."""
        ...


class CommandLog(Protocol):
    def execution(self) -> AbstractAsyncContextManager[Execution]:
        """A connection for one execution, returned when the block ends."""
        ...

    async def count_attempt(self, command: Command | uuid.UUID) -> int | None:
        """One more execution attempt, committed at once (the accepted row written if it is not there yet,
        given the whole command); None when the command is final already (or, given only an id, absent)."""
        ...

    async def claim_stale(self, older_than: timedelta, limit: int) -> list[Command]:
        """Commands still accepted and untouched for `older_than`, touched so the next redrive waits again."""
        ...

    async def find(self, org_id: uuid.UUID, command_id: uuid.UUID) -> StoredCommand | None:
        """The organization's command, for a poll."""
        ...

    def translate(self, error: Exception) -> DomainError | None:
        """The rule a database error broke (a constraint, a trigger), or None for any other error."""
        ...


class CommandAcceptance(Protocol):
    """Writes the accepted rows of commands about to be answered 202 (those of one loop turn together)."""

    async def accept(self, command: Command) -> Outcome | None:
        """Once the accepted row is committed: None; or the outcome stored on the row already (an execution got
        there first). Raises what refused it."""
        ...

    async def close(self) -> None: ...
