"""Helpers of the maintenance-task and compliance API tests: create through HTTP, count audit rows and events."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from tests.api_support import Member, call
from tests.clients import ApiClient


def window_body(aircraft_id: object, start: datetime, end: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "aircraft_id": str(aircraft_id),
        "type": "inspection",
        "start_time": start.isoformat(),
        "end_time": end.isoformat(),
        **fields,
    }


async def create_task(
    api: ApiClient, member: Member, aircraft_id: object, start: datetime, end: datetime, **fields: Any
) -> dict[str, Any]:
    status, created, _ = await call(
        api, "POST", "/api/v1/maintenance-tasks", member, json=window_body(aircraft_id, start, end, **fields)
    )
    assert status == 201, created
    return created  # type: ignore[no-any-return]


async def transition(api: ApiClient, member: Member, task_id: object, state: str, **fields: Any) -> tuple[int, Any]:
    status, body, _ = await call(
        api, "PATCH", f"/api/v1/maintenance-tasks/{task_id}/state", member, json={"state": state, **fields}
    )
    return status, body


async def audit_actions(conn: asyncpg.Connection, entity_id: object) -> list[tuple[str, int]]:
    rows = await conn.fetch(
        "SELECT action::text AS action, entity_version FROM audit_logs WHERE entity_id = $1"
        ' ORDER BY entity_version, "timestamp"',
        uuid.UUID(str(entity_id)),
    )
    return [(row["action"], row["entity_version"]) for row in rows]


async def event_keys(conn: asyncpg.Connection, aggregate_id: object) -> list[str]:
    rows = await conn.fetch(
        "SELECT dedupe_key FROM outbox_events WHERE aggregate_id = $1 ORDER BY created_at, dedupe_key",
        uuid.UUID(str(aggregate_id)),
    )
    return [row["dedupe_key"] for row in rows]


def as_json(value: Any) -> Any:
    """A jsonb column as Python, whether or not the connection decodes it."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def rule_of(body: Any) -> Any:
    return body.get("details", {}).get("rule") if isinstance(body, dict) else None
