"""Database-level helpers: create or drop the database a DSN names (dev set-up and test harness)."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

import asyncpg


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def split_dsn(dsn: str) -> tuple[str, str]:
    """(DSN of the server's `postgres` maintenance database, name of the DSN's database)."""
    parts = urlsplit(dsn)
    name = parts.path.lstrip("/")
    if not name:
        raise ValueError("DB_URL names no database")
    return urlunsplit(parts._replace(path="/postgres")), name


async def ensure_database(dsn: str) -> bool:
    """Create the DSN's database if it does not exist; True if it was created."""
    admin_dsn, name = split_dsn(dsn)
    conn = await asyncpg.connect(admin_dsn)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        try:
            await conn.execute(f"CREATE DATABASE {_quote_identifier(name)}")
        except asyncpg.DuplicateDatabaseError:
            return False
        return True
    finally:
        await conn.close()


async def drop_database(dsn: str) -> None:
    admin_dsn, name = split_dsn(dsn)
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {_quote_identifier(name)} WITH (FORCE)")
    finally:
        await conn.close()
