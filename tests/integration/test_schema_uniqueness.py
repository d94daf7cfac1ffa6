"""Unique constraints and partial unique indexes.

Live rows are unique per organization; a soft-deleted row frees its value for reuse.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg
import pytest

from amss.domain.errors import Conflict
from amss.infra.postgres.errors import translate
from tests.integration.factories import (
    make_aircraft,
    make_org,
    make_part_definition,
    make_part_item,
    make_program,
    make_user,
    short_id,
)


@dataclass(frozen=True)
class LiveKey:
    table: str
    index: str
    field: str
    make: Callable[[asyncpg.Connection, uuid.UUID, str], Awaitable[uuid.UUID]]


LIVE_KEYS = [
    pytest.param(
        LiveKey("users", "users_org_email_live_key", "email", lambda c, o, v: make_user(c, o, email=f"{v}@x.test")),
        id="users-email",
    ),
    pytest.param(
        LiveKey(
            "aircraft",
            "aircraft_org_tail_number_live_key",
            "tail_number",
            lambda c, o, v: make_aircraft(c, o, tail_number=v),
        ),
        id="aircraft-tail_number",
    ),
    pytest.param(
        LiveKey(
            "part_definitions",
            "part_definitions_org_name_live_key",
            "name",
            lambda c, o, v: make_part_definition(c, o, name=v),
        ),
        id="part_definitions-name",
    ),
    pytest.param(
        LiveKey(
            "part_items",
            "part_items_org_serial_live_key",
            "serial_number",
            lambda c, o, v: make_part_item(c, o, serial_number=v),
        ),
        id="part_items-serial_number",
    ),
]


def _assert_unique(exc: pytest.ExceptionInfo[asyncpg.UniqueViolationError], constraint: str) -> None:
    assert exc.value.constraint_name == constraint
    assert type(translate(exc.value)) is Conflict


@pytest.mark.parametrize("key", LIVE_KEYS)
async def test_a_live_duplicate_in_one_organization_is_rejected(conn: asyncpg.Connection, key: LiveKey) -> None:
    org_id = await make_org(conn)
    value = f"V{short_id()}"
    await key.make(conn, org_id, value)

    with pytest.raises(asyncpg.UniqueViolationError) as exc:
        await key.make(conn, org_id, value)
    _assert_unique(exc, key.index)
    assert translate(exc.value).details == {"field": key.field}  # type: ignore[union-attr]


@pytest.mark.parametrize("key", LIVE_KEYS)
async def test_a_value_can_be_reused_after_the_row_holding_it_is_soft_deleted(
    conn: asyncpg.Connection, key: LiveKey
) -> None:
    org_id = await make_org(conn)
    value = f"V{short_id()}"
    first = await key.make(conn, org_id, value)
    await conn.execute(f"UPDATE {key.table} SET deleted_at = now() WHERE id = $1", first)

    second = await key.make(conn, org_id, value)

    assert second != first


@pytest.mark.parametrize("key", LIVE_KEYS)
async def test_the_same_value_is_allowed_in_another_organization(conn: asyncpg.Connection, key: LiveKey) -> None:
    org_a, org_b = await make_org(conn), await make_org(conn)
    value = f"V{short_id()}"
    await key.make(conn, org_a, value)

    assert await key.make(conn, org_b, value) is not None


async def test_a_user_email_differing_only_in_letter_case_is_a_duplicate(conn: asyncpg.Connection) -> None:
    org_id = await make_org(conn)
    await make_user(conn, org_id, email="A@x.test")

    with pytest.raises(asyncpg.UniqueViolationError) as exc:
        await make_user(conn, org_id, email="a@x.test")
    _assert_unique(exc, "users_org_email_live_key")


async def test_a_soft_deleted_user_frees_the_email_in_any_letter_case(conn: asyncpg.Connection) -> None:
    org_id = await make_org(conn)
    first = await make_user(conn, org_id, email="A@x.test")
    await conn.execute("UPDATE users SET deleted_at = now() WHERE id = $1", first)

    assert await make_user(conn, org_id, email="a@x.test") is not None


async def test_an_organization_name_is_unique(conn: asyncpg.Connection) -> None:
    name = f"org-{short_id()}"
    await make_org(conn, name)

    with pytest.raises(asyncpg.UniqueViolationError) as exc:
        await make_org(conn, name)
    _assert_unique(exc, "organizations_name_key")


async def test_a_program_name_is_unique_per_aircraft_and_among_templates(conn: asyncpg.Connection) -> None:
    org_id = await make_org(conn)
    aircraft_id = await make_aircraft(conn, org_id)
    await make_program(conn, org_id, name="A-check")
    await make_program(conn, org_id, name="A-check", aircraft_id=aircraft_id)
    await make_program(conn, org_id, name="A-check", aircraft_id=await make_aircraft(conn, org_id))

    with pytest.raises(asyncpg.UniqueViolationError) as template_exc:
        await make_program(conn, org_id, name="A-check")
    with pytest.raises(asyncpg.UniqueViolationError) as aircraft_exc:
        await make_program(conn, org_id, name="A-check", aircraft_id=aircraft_id)

    _assert_unique(template_exc, "maintenance_programs_org_name_aircraft_live_key")
    _assert_unique(aircraft_exc, "maintenance_programs_org_name_aircraft_live_key")


async def _event(conn: asyncpg.Connection, org_id: uuid.UUID, dedupe_key: str) -> uuid.UUID:
    return await conn.fetchval(  # type: ignore[no-any-return]
        "INSERT INTO outbox_events (org_id, aggregate_type, aggregate_id, event_type, payload, dedupe_key)"
        " VALUES ($1, 'task', $2, 'task.created', $3, $4) RETURNING id",
        org_id,
        uuid.uuid4(),
        {"n": 1},
        dedupe_key,
    )


async def test_an_outbox_event_with_a_duplicate_dedupe_key_is_rejected(conn: asyncpg.Connection) -> None:
    org_a, org_b = await make_org(conn), await make_org(conn)
    await _event(conn, org_a, "task:1:created")

    with pytest.raises(asyncpg.UniqueViolationError) as exc:
        await _event(conn, org_a, "task:1:created")
    _assert_unique(exc, "outbox_events_org_dedupe_key")
    # the dedupe key is per organization
    assert await _event(conn, org_b, "task:1:created") is not None


async def _idempotency_key(conn: asyncpg.Connection, org_id: uuid.UUID, key: str, endpoint: str) -> None:
    await conn.execute(
        "INSERT INTO idempotency_keys (org_id, key, endpoint, request_hash) VALUES ($1, $2, $3, 'h')",
        org_id,
        key,
        endpoint,
    )


async def test_an_idempotency_key_is_unique_per_endpoint(conn: asyncpg.Connection) -> None:
    org_id = await make_org(conn)
    await _idempotency_key(conn, org_id, "key-1", "POST /api/v1/tasks")

    with pytest.raises(asyncpg.UniqueViolationError) as exc:
        await _idempotency_key(conn, org_id, "key-1", "POST /api/v1/tasks")
    _assert_unique(exc, "idempotency_keys_org_key_endpoint_key")


async def test_the_same_idempotency_key_is_allowed_on_another_endpoint_or_organization(
    conn: asyncpg.Connection,
) -> None:
    org_a, org_b = await make_org(conn), await make_org(conn)
    await _idempotency_key(conn, org_a, "key-1", "POST /api/v1/tasks")

    await _idempotency_key(conn, org_a, "key-1", "POST /api/v1/aircraft")
    await _idempotency_key(conn, org_b, "key-1", "POST /api/v1/tasks")

    assert await conn.fetchval("SELECT count(*) FROM idempotency_keys WHERE org_id = ANY($1)", [org_a, org_b]) == 3


async def _webhook(conn: asyncpg.Connection, org_id: uuid.UUID) -> uuid.UUID:
    return await conn.fetchval(  # type: ignore[no-any-return]
        "INSERT INTO webhooks (org_id, url, events, secret) VALUES ($1, 'https://hooks.example.test/', $2, $3)"
        " RETURNING id",
        org_id,
        ["task.created"],
        secrets.token_hex(32),
    )


async def test_an_event_is_delivered_once_per_webhook(conn: asyncpg.Connection) -> None:
    org_id = await make_org(conn)
    webhook_id, other_webhook_id = await _webhook(conn, org_id), await _webhook(conn, org_id)
    event_id = await _event(conn, org_id, "task:1:created")
    insert = "INSERT INTO webhook_deliveries (org_id, webhook_id, event_id) VALUES ($1, $2, $3)"
    await conn.execute(insert, org_id, webhook_id, event_id)
    await conn.execute(insert, org_id, other_webhook_id, event_id)

    with pytest.raises(asyncpg.UniqueViolationError) as exc:
        await conn.execute(insert, org_id, webhook_id, event_id)
    _assert_unique(exc, "webhook_deliveries_once_per_event")


async def test_an_import_row_number_is_staged_once_per_import(conn: asyncpg.Connection) -> None:
    org_id = await make_org(conn)
    user_id = await make_user(conn, org_id, role="tenant_admin")
    insert_import = (
        "INSERT INTO imports (org_id, type, file_name, content, created_by)"
        " VALUES ($1, 'aircraft', 'a.csv', $2, $3) RETURNING id"
    )
    import_id = await conn.fetchval(insert_import, org_id, b"tail_number\n", user_id)
    other_import_id = await conn.fetchval(insert_import, org_id, b"tail_number\n", user_id)
    insert_row = "INSERT INTO import_rows (org_id, import_id, row_number, raw) VALUES ($1, $2, $3, $4)"
    await conn.execute(insert_row, org_id, import_id, 1, {"tail_number": "N1"})
    await conn.execute(insert_row, org_id, import_id, 2, {"tail_number": "N2"})
    await conn.execute(insert_row, org_id, other_import_id, 1, {"tail_number": "N1"})

    with pytest.raises(asyncpg.UniqueViolationError) as exc:
        await conn.execute(insert_row, org_id, import_id, 1, {"tail_number": "N1"})
    _assert_unique(exc, "import_rows_import_row_number_key")
