"""Small typed helpers every repository uses: the connection type and fetch-exactly-one."""

from __future__ import annotations

from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

# a plain connection or one borrowed from a pool: repositories accept either
Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy


async def fetch_one(conn: Connection, sql: str, *args: Any) -> asyncpg.Record:
    """The single row a statement must return (an INSERT … RETURNING, say)."""
    row = await conn.fetchrow(sql, *args)
    if row is None:
        raise LookupError("statement returned no row")
    return row
