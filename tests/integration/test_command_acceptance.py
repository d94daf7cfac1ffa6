"""Accepting commands: rows submitted in one loop turn go in together, each committed before its
submitter moves on, and a row that breaks a rule fails only its own submitter."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from amss.actors.partitioning import aircraft_actor
from amss.app.commands.envelope import Command
from amss.app.commands.outcomes import Outcome
from amss.infra.postgres import command_acceptance as acceptance
from amss.infra.postgres.command_acceptance import CommandAcceptor
from amss.infra.postgres.commands_repo import accept_commands
from amss.infra.postgres.sql import fetch_one
from tests.integration.factories import make_org


def command(org_id: uuid.UUID, actor: str | None = None) -> Command:
    return Command(
        uuid.uuid4(), org_id, actor or aircraft_actor(org_id, uuid.uuid4()), "diag.noop", {"n": 1}, {"job": "test"}
    )


async def stored(conn: asyncpg.Connection, commands: list[Command]) -> set[uuid.UUID]:
    rows = await conn.fetch("SELECT id FROM commands WHERE id = ANY($1::uuid[])", [c.id for c in commands])
    return {row["id"] for row in rows}


async def test_commands_of_one_loop_turn_are_accepted_in_one_statement(
    pg_pool: asyncpg.Pool, conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    statements: list[int] = []
    real = accept_commands

    async def counting(connection: asyncpg.Connection, commands: list[Command]) -> dict[uuid.UUID, Outcome]:
        statements.append(len(commands))
        return await real(connection, commands)

    monkeypatch.setattr(acceptance, "accept_commands", counting)
    acceptor = CommandAcceptor(pg_pool)
    org_id = await make_org(conn)
    batch = [command(org_id) for _ in range(12)]
    await asyncio.gather(*(acceptor.accept(c) for c in batch))
    assert statements == [12]
    assert await stored(conn, batch) == {c.id for c in batch}
    row = await fetch_one(conn, "SELECT status::text, payload, principal FROM commands WHERE id = $1", batch[0].id)
    assert (row["status"], row["payload"], row["principal"]) == ("accepted", {"n": 1}, {"job": "test"})

    alone = command(org_id)
    await acceptor.accept(alone)
    assert await stored(conn, [alone]) == {alone.id}
    await acceptor.close()


async def test_a_refused_row_fails_only_its_submitter(pg_pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
    acceptor = CommandAcceptor(pg_pool)
    org_id = await make_org(conn)
    good = [command(org_id) for _ in range(3)]
    bad = command(org_id, actor="not-an-actor")  # breaks commands_actor_format
    outcomes = await asyncio.gather(*(acceptor.accept(c) for c in [*good, bad]), return_exceptions=True)
    assert outcomes[:3] == [None, None, None]
    assert isinstance(outcomes[3], asyncpg.CheckViolationError)
    assert await stored(conn, [*good, bad]) == {c.id for c in good}
    await acceptor.close()
