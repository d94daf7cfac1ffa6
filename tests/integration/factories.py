"""Row factories for integration tests: plain SQL inserts with sensible defaults.

Each test builds its own organization, so tests never see each other's rows.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from amss.infra.postgres.sql import Connection

_BCRYPT_PLACEHOLDER = "$2b$04$" + "x" * 53  # a syntactically valid hash no password matches


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def soon(hours: float = 24) -> datetime:
    return datetime.now(UTC) + timedelta(hours=hours)


def short_id() -> str:
    return uuid.uuid4().hex[:10]


async def make_org(conn: Connection, name: str | None = None) -> uuid.UUID:
    org_id: uuid.UUID = await conn.fetchval(
        "INSERT INTO organizations (name) VALUES ($1) RETURNING id", name or f"org-{short_id()}"
    )
    await conn.execute("INSERT INTO org_policies (org_id) VALUES ($1)", org_id)
    return org_id


async def make_user(conn: Connection, org_id: uuid.UUID, role: str = "mechanic", email: str | None = None) -> uuid.UUID:
    return await conn.fetchval(  # type: ignore[no-any-return]
        "INSERT INTO users (org_id, email, role, password_hash) VALUES ($1, $2, $3, $4) RETURNING id",
        org_id,
        email or f"{role}-{short_id()}@example.test",
        role,
        _BCRYPT_PLACEHOLDER,
    )


async def make_aircraft(conn: Connection, org_id: uuid.UUID, **values: Any) -> uuid.UUID:
    """A grounded aircraft is grounded by a person (`manual`) unless `grounded_by="task"` says the system did."""
    if values.get("status") == "grounded":
        values.setdefault("grounded_by", "manual")
    row = {"tail_number": f"N{short_id()}", "model": "A320", **values}
    return await _insert(conn, "aircraft", org_id, row)


async def make_program(conn: Connection, org_id: uuid.UUID, **values: Any) -> uuid.UUID:
    row = {"name": f"program-{short_id()}", "interval_type": "calendar", "interval_value": 30, **values}
    return await _insert(conn, "maintenance_programs", org_id, row)


async def make_task(
    conn: Connection,
    org_id: uuid.UUID,
    aircraft_id: uuid.UUID,
    start_time: datetime,
    end_time: datetime,
    **values: Any,
) -> uuid.UUID:
    row = {"aircraft_id": aircraft_id, "type": "inspection", "start_time": start_time, "end_time": end_time, **values}
    return await _insert(conn, "maintenance_tasks", org_id, row)


async def make_part_definition(conn: Connection, org_id: uuid.UUID, **values: Any) -> uuid.UUID:
    return await _insert(conn, "part_definitions", org_id, {"name": f"part-{short_id()}", "category": "test", **values})


async def make_part_item(
    conn: Connection, org_id: uuid.UUID, definition_id: uuid.UUID | None = None, **values: Any
) -> uuid.UUID:
    if definition_id is None:
        definition_id = await make_part_definition(conn, org_id)
    row = {"part_definition_id": definition_id, "serial_number": f"SN-{short_id()}", **values}
    return await _insert(conn, "part_items", org_id, row)


async def make_reservation(
    conn: Connection, org_id: uuid.UUID, task_id: uuid.UUID, part_item_id: uuid.UUID, **values: Any
) -> uuid.UUID:
    return await _insert(
        conn, "part_reservations", org_id, {"task_id": task_id, "part_item_id": part_item_id, **values}
    )


async def make_compliance_item(conn: Connection, org_id: uuid.UUID, task_id: uuid.UUID, **values: Any) -> uuid.UUID:
    return await _insert(conn, "compliance_items", org_id, {"task_id": task_id, "description": "check", **values})


async def make_audit_log(conn: Connection, org_id: uuid.UUID, **values: Any) -> uuid.UUID:
    row = {"entity_type": "aircraft", "entity_id": uuid.uuid4(), "action": "create", **values}
    return await _insert(conn, "audit_logs", org_id, row)


async def _insert(conn: Connection, table: str, org_id: uuid.UUID, values: dict[str, Any]) -> uuid.UUID:
    columns = ["org_id", *values]
    placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    return await conn.fetchval(  # type: ignore[no-any-return]
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders}) RETURNING id", org_id, *values.values()
    )


async def make_webhook(conn: Connection, org_id: uuid.UUID, **values: Any) -> uuid.UUID:
    row = {
        "url": f"http://127.0.0.1:9/hooks/{short_id()}",
        "events": ["task_created"],
        "secret": secrets.token_hex(32),
        **values,
    }
    return await _insert(conn, "webhooks", org_id, row)


async def make_outbox_event(conn: Connection, org_id: uuid.UUID, event_type: str = "task_created") -> uuid.UUID:
    """An event already published (processed_at set), so no publisher picks it up."""
    row = {
        "aggregate_type": "task",
        "aggregate_id": uuid.uuid4(),
        "event_type": event_type,
        "payload": {},
        "dedupe_key": f"{event_type}:{org_id}:{uuid.uuid4()}",
        "processed_at": datetime.now(UTC),
    }
    return await _insert(conn, "outbox_events", org_id, row)


async def make_delivery(
    conn: Connection,
    org_id: uuid.UUID,
    webhook_id: uuid.UUID,
    status: str = "failed",
    event_type: str = "task_created",
    **values: Any,
) -> uuid.UUID:
    """A delivery as the dispatcher leaves it (failed by default, after ten attempts)."""
    row = {
        "webhook_id": webhook_id,
        "event_id": await make_outbox_event(conn, org_id, event_type),
        "status": status,
        "attempt_count": 10 if status == "failed" else 0,
        "last_error": "HTTP 500" if status == "failed" else None,
        "last_response_code": 500 if status == "failed" else None,
        **values,
    }
    return await _insert(conn, "webhook_deliveries", org_id, row)


async def make_import(
    conn: Connection, org_id: uuid.UUID, created_by: uuid.UUID, rows: int = 2, **values: Any
) -> uuid.UUID:
    """A finished parts import with `rows` staged rows (the first valid and applied, the rest invalid)."""
    content = b"part_name,serial_number\r\n" + b"".join(b"pump,S-%d\r\n" % number for number in range(rows))
    principal = {"user_id": str(created_by), "home_org_id": str(org_id), "role": "scheduler"}
    row = {
        "type": "parts",
        "status": "completed",
        "file_name": "sample.csv",
        "content": content,
        "byte_size": len(content),
        "created_by": created_by,
        "principal": principal,
        **values,
    }
    import_id = await _insert(conn, "imports", org_id, row)
    for number in range(1, rows + 1):
        await _insert(
            conn,
            "import_rows",
            org_id,
            {
                "import_id": import_id,
                "row_number": number,
                "raw": {"part_name": "pump", "serial_number": f"S-{number}"},
                "status": "applied" if number == 1 else "invalid",
                "errors": [] if number == 1 else ["serial_number: sample error"],
            },
        )
    return import_id
