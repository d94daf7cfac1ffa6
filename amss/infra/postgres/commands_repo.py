"""The command log in Postgres: the durable record of every mesh command and its outcome.

Durable when promised: the execution transaction's first statement locks the command's row if
there is one (`lock_command`: the accepted row a 202 wrote, or a final one whose outcome is then
only re-sent), and its last writes the row with the outcome or completes the accepted one
(`outcome_row`). A row is written before that only when the API is about to promise a result it
has not seen (a 202: `accept_commands`), so the Location resolves and the redriver can finish it.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import asyncpg
import orjson

from amss.app.commands.envelope import Command
from amss.app.commands.log import LockedCommand, StoredCommand
from amss.app.commands.outcomes import CommandError, Failed, Outcome, Succeeded
from amss.domain.enums import CommandStatus
from amss.infra.postgres.sql import Connection, Statement

_COMMAND_COLUMNS = "id, org_id, actor, type, payload, principal, request_id, reply_to, created_at"


def _command(row: asyncpg.Record) -> Command:
    return Command(
        id=row["id"],
        org_id=row["org_id"],
        actor=row["actor"],
        type=row["type"],
        payload=row["payload"],
        principal=row["principal"],
        request_id=row["request_id"],
        reply_to=row["reply_to"],
        created_at=row["created_at"],
    )


# the outcome's columns; the view as its stored text, so a poll shows it byte for byte
_OUTCOME_COLUMNS = "outcome_view::text AS outcome_view, outcome_changed, outcome_error"


def _outcome(row: asyncpg.Record) -> Outcome | None:
    if row["outcome_error"] is not None:
        error = row["outcome_error"]
        return Failed(CommandError(error["code"], error["message"], error.get("details")))
    if row["outcome_changed"] is None:
        return None
    view = orjson.loads(row["outcome_view"]) if row["outcome_view"] is not None else None
    return Succeeded(view, row["outcome_changed"])


def _outcome_args(outcome: Outcome) -> tuple[object, ...]:
    """(status, view, changed, error) of an outcome, as the columns store them."""
    if isinstance(outcome, Succeeded):
        return CommandStatus.SUCCEEDED.value, outcome.view, outcome.changed, None
    error = outcome.error
    return (
        CommandStatus.FAILED.value,
        None,
        None,
        {"code": error.code, "message": error.message, "details": error.details},
    )


_INSERT_COMMAND = (
    "INSERT INTO commands (id, org_id, actor, type, payload, principal, request_id, reply_to)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
)


def _command_args(command: Command) -> tuple[object, ...]:
    return (
        command.id,
        command.org_id,
        command.actor,
        command.type,
        command.payload,
        command.principal,
        command.request_id,
        command.reply_to,
    )


async def insert_command(conn: Connection, command: Command) -> datetime:
    created_at: datetime = await conn.fetchval(f"{_INSERT_COMMAND} RETURNING created_at", *_command_args(command))
    return created_at


async def accept_commands(conn: Connection, commands: list[Command]) -> dict[uuid.UUID, Outcome]:
    """Write the accepted rows of commands about to be answered 202, in one statement (one commit), all or
    none; the stored outcomes of those whose row was final already (an execution got there first).

    A row an execution is writing (its last statement, not committed yet) makes this wait for that commit."""
    inserted = await conn.fetch(
        "INSERT INTO commands (id, org_id, actor, type, payload, principal, request_id, reply_to)"
        " SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::jsonb[], $6::jsonb[],"
        " $7::uuid[], $8::text[]) ON CONFLICT (id) DO NOTHING RETURNING id",
        [c.id for c in commands],
        [c.org_id for c in commands],
        [c.actor for c in commands],
        [c.type for c in commands],
        [c.payload for c in commands],
        [c.principal for c in commands],
        [c.request_id for c in commands],
        [c.reply_to for c in commands],
    )
    if len(inserted) == len(commands):
        return {}
    fresh = {row["id"] for row in inserted}
    rows = await conn.fetch(
        f"SELECT id, {_OUTCOME_COLUMNS} FROM commands WHERE id = ANY($1::uuid[])",
        [c.id for c in commands if c.id not in fresh],
    )
    stored = {row["id"]: _outcome(row) for row in rows}
    return {command_id: outcome for command_id, outcome in stored.items() if outcome is not None}


def outcome_row(command: Command, outcome: Outcome, error: str | None = None, deliveries: int = 0) -> Statement:
    """The last statement of a command's execution (with its journal): write its row with the outcome, or
    complete the accepted row there (written for a 202, locked by the execution's first statement, or
    committed meanwhile); true unless the row was final already (another delivery finished it first).

    The row's key is taken only here, as the execution commits, so a 202's accepted row never waits for
    an execution in progress."""
    return Statement(
        "INSERT INTO commands (id, org_id, actor, type, payload, principal, request_id, reply_to, status,"
        " outcome_view, outcome_changed, outcome_error, error, delivery_count, completed_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, clock_timestamp())"
        " ON CONFLICT (id) DO UPDATE SET status = excluded.status, outcome_view = excluded.outcome_view,"
        " outcome_changed = excluded.outcome_changed, outcome_error = excluded.outcome_error, error = excluded.error,"
        " delivery_count = GREATEST(commands.delivery_count, excluded.delivery_count),"
        " completed_at = excluded.completed_at, updated_at = clock_timestamp()"
        " WHERE commands.status = 'accepted' RETURNING true",
        (*_command_args(command), *_outcome_args(outcome), error[:2000] if error is not None else None, deliveries),
    )


async def count_attempt(conn: Connection, command: Command) -> int | None:
    """One more execution attempt, committed at once: the row is written (accepted) if it is not there yet;
    None when it is final already."""
    attempt: int | None = await conn.fetchval(
        "INSERT INTO commands (id, org_id, actor, type, payload, principal, request_id, reply_to, delivery_count)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1)"
        " ON CONFLICT (id) DO UPDATE SET delivery_count = commands.delivery_count + 1"
        " WHERE commands.status = 'accepted' RETURNING delivery_count",
        *_command_args(command),
    )
    return attempt


async def count_attempt_of(conn: Connection, command_id: uuid.UUID) -> int | None:
    """One more execution attempt of a command known only by its id (its row must exist); None when it is
    final already or absent."""
    attempt: int | None = await conn.fetchval(
        "UPDATE commands SET delivery_count = delivery_count + 1 WHERE id = $1 AND status = 'accepted'"
        " RETURNING delivery_count",
        command_id,
    )
    return attempt


async def lock_command(conn: Connection, command_id: uuid.UUID) -> LockedCommand | None:
    """The command row, locked until the transaction ends: one execution at a time, whoever asks."""
    row = await conn.fetchrow(
        f"SELECT {_COMMAND_COLUMNS}, status::text AS status, {_OUTCOME_COLUMNS} FROM commands WHERE id = $1 FOR UPDATE",
        command_id,
    )
    if row is None:
        return None
    return LockedCommand(_command(row), CommandStatus(row["status"]), _outcome(row))


def completion(command_id: uuid.UUID, outcome: Outcome, error: str | None = None) -> Statement:
    """Store the outcome on an accepted row; true unless the row is final already (or missing)."""
    return Statement(
        "UPDATE commands SET status = $2, outcome_view = $3, outcome_changed = $4, outcome_error = $5, error = $6,"
        " completed_at = clock_timestamp(), updated_at = clock_timestamp()"
        " WHERE id = $1 AND status = 'accepted' RETURNING true",
        (command_id, *_outcome_args(outcome), error),
    )


async def complete_command(conn: Connection, command_id: uuid.UUID, outcome: Outcome, error: str | None = None) -> bool:
    statement = completion(command_id, outcome, error)
    return await conn.fetchval(statement.sql, *statement.args) is not None


async def get_command(conn: Connection, org_id: uuid.UUID, command_id: uuid.UUID) -> StoredCommand | None:
    row = await conn.fetchrow(
        f"SELECT id, org_id, type, status::text AS status, {_OUTCOME_COLUMNS}, request_id, created_at, completed_at"
        " FROM commands WHERE org_id = $1 AND id = $2",
        org_id,
        command_id,
    )
    if row is None:
        return None
    return StoredCommand(
        row["id"],
        row["org_id"],
        row["type"],
        CommandStatus(row["status"]),
        _outcome(row),
        row["request_id"],
        row["created_at"],
        row["completed_at"],
    )


async def claim_stale_commands(conn: Connection, older_than: timedelta, limit: int) -> list[Command]:
    """Commands still `accepted` and untouched for `older_than`; touching them spaces out the next redrive."""
    rows = await conn.fetch(
        "UPDATE commands SET updated_at = clock_timestamp() WHERE id IN ("
        " SELECT id FROM commands WHERE status = 'accepted' AND updated_at < clock_timestamp() - $1::interval"
        " ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
        f" RETURNING {_COMMAND_COLUMNS}",
        older_than,
        limit,
    )
    commands = [_command(row) for row in rows]
    commands.sort(key=lambda command: (command.created_at or datetime.min, str(command.id)))
    return commands
