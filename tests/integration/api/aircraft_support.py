"""Helpers of the aircraft API tests: create through HTTP, read raw bodies, count audit rows and events."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from tests.api_support import Member, call
from tests.clients import ApiClient
from tests.integration.factories import short_id


def tail() -> str:
    return f"N{short_id()}".upper()


async def create(api: ApiClient, member: Member, **fields: Any) -> dict[str, Any]:
    body = {"tail_number": tail(), "model": "A320", **fields}
    status, created, _ = await call(api, "POST", "/api/v1/aircraft", member, json=body)
    assert status == 201, created
    return created  # type: ignore[no-any-return]


async def raw(api: ApiClient, method: str, path: str, member: Member, **kwargs: Any) -> tuple[int, bytes]:
    headers = {**member.auth, **kwargs.pop("headers", {})}
    async with api.request(method, path, headers=headers, **kwargs) as response:
        return response.status, await response.read()


async def audit_rows(conn: asyncpg.Connection, aircraft_id: str | uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT action::text AS action, entity_version, user_id, request_id, details FROM audit_logs"
        " WHERE entity_type = 'aircraft' AND entity_id = $1 ORDER BY entity_version, \"timestamp\"",
        uuid.UUID(str(aircraft_id)),
    )


async def status_events(conn: asyncpg.Connection, aircraft_id: str | uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT event_type, aggregate_type, dedupe_key, payload FROM outbox_events"
        " WHERE aggregate_id = $1 ORDER BY created_at, dedupe_key",
        uuid.UUID(str(aircraft_id)),
    )


def fields_of(body: Any) -> dict[str, str]:
    assert isinstance(body, dict) and body.get("code") == "VALIDATION_ERROR", body
    return body["details"]["fields"]  # type: ignore[no-any-return]
