"""Small typed helpers every repository uses: the connection type and fetch-exactly-one."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from amss.domain.errors import Conflict

# a plain connection or one borrowed from a pool: repositories accept either
Connection: TypeAlias = asyncpg.Connection | PoolConnectionProxy


_PARAMETER = re.compile(r"\$(\d+)")


@dataclass(frozen=True)
class Statement:
    """A repository's statement and its arguments, to run alone or as the last part of a bigger one."""

    sql: str
    args: tuple[Any, ...]

    def numbered_after(self, taken: int) -> str:
        """The SQL with its parameters renumbered to follow `taken` others ($1 becomes ${taken + 1})."""
        return _renumbered(self.sql, taken)


@functools.lru_cache(maxsize=256)
def _renumbered(sql: str, taken: int) -> str:
    """Statements are the repositories' constants: each is renumbered once per process."""
    return _PARAMETER.sub(lambda match: f"${int(match.group(1)) + taken}", sql)


async def fetch_one(conn: Connection, sql: str, *args: Any) -> asyncpg.Record:
    """The single row a statement must return (an INSERT … RETURNING, say)."""
    row = await conn.fetchrow(sql, *args)
    if row is None:
        raise LookupError("statement returned no row")
    return row


async def fetch_live_row(
    conn: Connection, table: str, columns: str, org_id: Any, row_id: Any, *, for_update: bool = False
) -> asyncpg.Record | None:
    """The organization's row `row_id` of `table` unless it is soft-deleted, locked FOR UPDATE if asked.

    `table` and `columns` are the repository's constants."""
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        f"SELECT {columns} FROM {table} WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL{lock}", org_id, row_id
    )


async def soft_delete_row(
    conn: Connection, table: str, returning: str, current: Any, at: Any, changed_message: str
) -> asyncpg.Record:
    """Soft-delete the live row `current` (org_id, id, version) at its expected version.

    `table` and `returning` are the repository's constants. A miss — the row changed or was
    deleted meanwhile — is a Conflict with `changed_message`.
    """
    row = await conn.fetchrow(
        f"UPDATE {table} SET deleted_at = $4, version = version + 1, updated_at = $4"
        f" WHERE org_id = $1 AND id = $2 AND version = $3 AND deleted_at IS NULL RETURNING {returning}",
        current.org_id,
        current.id,
        current.version,
        at,
    )
    if row is None:
        raise Conflict(changed_message)
    return row
