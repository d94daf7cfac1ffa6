"""asyncpg pool factory: JSON codecs through orjson, UTC sessions, bounded sizes."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson


def _encode_json(value: Any) -> str:
    return orjson.dumps(value).decode()


async def init_connection(conn: asyncpg.Connection) -> None:
    """Per-connection set-up: json/jsonb as Python objects, timestamps rendered in UTC."""
    await conn.set_type_codec("jsonb", encoder=_encode_json, decoder=orjson.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=_encode_json, decoder=orjson.loads, schema="pg_catalog")


async def create_pool(dsn: str, *, min_size: int = 2, max_size: int = 20) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=init_connection,
        server_settings={"timezone": "UTC", "application_name": "amss"},
    )
    assert pool is not None
    return pool
