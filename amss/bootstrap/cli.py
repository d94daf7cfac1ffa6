"""The `amss` administration commands' composition root: settings, the clock and one Postgres connection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from amss.app.clock import Clock, utc_now
from amss.config import Settings
from amss.infra.postgres.pool import init_connection


class DatabaseUnreachable(Exception):
    """DB_URL did not answer."""


@dataclass(frozen=True)
class Cli:
    settings: Settings
    clock: Clock
    conn: asyncpg.Connection


@asynccontextmanager
async def open_cli(settings: Settings, *, clock: Clock = utc_now) -> AsyncIterator[Cli]:
    """One connection of DB_URL (migrate, seed and create-admin need no pool, nor Redis), closed at the end."""
    try:
        conn = await asyncpg.connect(settings.db_url, server_settings={"timezone": "UTC"})
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatabaseUnreachable(f"cannot connect to Postgres at DB_URL: {exc}") from exc
    try:
        await init_connection(conn)
        yield Cli(settings, clock, conn)
    finally:
        await conn.close()
