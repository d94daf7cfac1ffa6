"""asyncpg pool factory: JSON codecs through orjson, UTC sessions, bounded sizes, no per-release reset query.

asyncpg's default release runs `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on every
connection it takes back — one more round trip per acquire, about a tenth of a command's database
work. Nothing here leaves session state on a pooled connection (advisory locks are transaction
scoped, nobody LISTENs or SETs a session variable, cursors live inside transactions), so the pool
only does what asyncpg always does before a custom reset: roll back a transaction left open.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import asyncpg
import orjson

from amss.infra.postgres.json_codec import encode_json

SESSION_SETTINGS: Final = {"timezone": "UTC", "application_name": "amss"}


async def init_connection(conn: asyncpg.Connection) -> None:
    """Per-connection set-up: json/jsonb as Python objects (written by the one encoder), timestamps in UTC."""
    await conn.set_type_codec("jsonb", encoder=encode_json, decoder=orjson.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=encode_json, decoder=orjson.loads, schema="pg_catalog")


async def keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset: nothing beyond asyncpg's own rollback of an open transaction (see above)."""


async def create_pool(
    dsn: str, *, min_size: int = 2, max_size: int = 20, session: Mapping[str, str] | None = None
) -> asyncpg.Pool:
    """A pool whose sessions carry SESSION_SETTINGS and `session` (e.g. statement_timeout)."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=init_connection,
        reset=keep_session,
        server_settings={**SESSION_SETTINGS, **(session or {})},
    )
    assert pool is not None
    return pool
