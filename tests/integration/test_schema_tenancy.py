"""Composite foreign keys (org_id, x_id) -> (org_id, id): a row can only reference rows of its own organization.

Every test first shows the reference is accepted inside one organization, so the rejection across
organizations is the composite key at work, not a missing row.
"""

from __future__ import annotations

import secrets
import uuid

import asyncpg
import pytest

from amss.domain.errors import ValidationFailed
from amss.infra.postgres.errors import translate
from tests.integration.factories import (
    make_aircraft,
    make_audit_log,
    make_compliance_item,
    make_org,
    make_part_definition,
    make_part_item,
    make_program,
    make_reservation,
    make_task,
    make_user,
    soon,
    utc,
)


def _assert_foreign_key(
    exc: pytest.ExceptionInfo[asyncpg.ForeignKeyViolationError], constraint: str, field: str
) -> None:
    assert exc.value.constraint_name == constraint
    error = translate(exc.value)
    assert type(error) is ValidationFailed
    assert field in error.details["fields"]


async def _two_orgs(conn: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID]:
    return await make_org(conn), await make_org(conn)


async def _task(conn: asyncpg.Connection, org_id: uuid.UUID) -> uuid.UUID:
    return await make_task(conn, org_id, await make_aircraft(conn, org_id), utc(2031, 3, 1, 10), utc(2031, 3, 1, 12))


async def test_a_task_cannot_reference_an_aircraft_of_another_organization(conn: asyncpg.Connection) -> None:
    org_a, org_b = await _two_orgs(conn)
    aircraft_a = await make_aircraft(conn, org_a)
    await make_task(conn, org_a, aircraft_a, utc(2031, 3, 1, 10), utc(2031, 3, 1, 12))

    with pytest.raises(asyncpg.ForeignKeyViolationError) as exc:
        await make_task(conn, org_b, aircraft_a, utc(2031, 3, 2, 10), utc(2031, 3, 2, 12))
    _assert_foreign_key(exc, "maintenance_tasks_aircraft_fk", "aircraft_id")


async def test_a_task_cannot_reference_a_program_of_another_organization(conn: asyncpg.Connection) -> None:
    org_a, org_b = await _two_orgs(conn)
    program_a = await make_program(conn, org_a)
    await make_task(
        conn, org_a, await make_aircraft(conn, org_a), utc(2031, 3, 1, 10), utc(2031, 3, 1, 12), program_id=program_a
    )

    with pytest.raises(asyncpg.ForeignKeyViolationError) as exc:
        await make_task(
            conn,
            org_b,
            await make_aircraft(conn, org_b),
            utc(2031, 3, 1, 10),
            utc(2031, 3, 1, 12),
            program_id=program_a,
        )
    _assert_foreign_key(exc, "maintenance_tasks_program_fk", "program_id")


async def test_a_task_cannot_be_assigned_a_mechanic_of_another_organization(conn: asyncpg.Connection) -> None:
    org_a, org_b = await _two_orgs(conn)
    mechanic_a = await make_user(conn, org_a)
    task_a = await _task(conn, org_a)
    await conn.execute("UPDATE maintenance_tasks SET assigned_mechanic_id = $2 WHERE id = $1", task_a, mechanic_a)
    task_b = await _task(conn, org_b)

    with pytest.raises(asyncpg.ForeignKeyViolationError) as exc:
        await conn.execute("UPDATE maintenance_tasks SET assigned_mechanic_id = $2 WHERE id = $1", task_b, mechanic_a)
    _assert_foreign_key(exc, "maintenance_tasks_mechanic_fk", "assigned_mechanic_id")


async def test_a_program_cannot_reference_an_aircraft_of_another_organization(conn: asyncpg.Connection) -> None:
    org_a, org_b = await _two_orgs(conn)
    aircraft_a = await make_aircraft(conn, org_a)
    await make_program(conn, org_a, aircraft_id=aircraft_a)

    with pytest.raises(asyncpg.ForeignKeyViolationError) as exc:
        await make_program(conn, org_b, aircraft_id=aircraft_a)
    _assert_foreign_key(exc, "maintenance_programs_aircraft_fk", "aircraft_id")


async def test_a_part_item_cannot_reference_a_part_definition_of_another_organization(
    conn: asyncpg.Connection,
) -> None:
    org_a, org_b = await _two_orgs(conn)
    definition_a = await make_part_definition(conn, org_a)
    await make_part_item(conn, org_a, definition_a)

    with pytest.raises(asyncpg.ForeignKeyViolationError) as exc:
        await make_part_item(conn, org_b, definition_a)
    _assert_foreign_key(exc, "part_items_definition_fk", "part_definition_id")


async def test_a_reservation_cannot_reference_a_task_of_another_organization(conn: asyncpg.Connection) -> None:
    org_a, org_b = await _two_orgs(conn)
    task_a = await _task(conn, org_a)
    await make_reservation(conn, org_a, task_a, await make_part_item(conn, org_a))

    with pytest.raises(asyncpg.ForeignKeyViolationError) as exc:
        await make_reservation(conn, org_b, task_a, await make_part_item(conn, org_b))
    _assert_foreign_key(exc, "part_reservations_task_fk", "task_id")


async def test_a_reservation_cannot_reference_a_part_item_of_another_organization(conn: asyncpg.Connection) -> None:
    org_a, org_b = await _two_orgs(conn)
    item_a = await make_part_item(conn, org_a)
    task_b = await _task(conn, org_b)

    with pytest.raises(asyncpg.ForeignKeyViolationError) as exc:
        await make_reservation(conn, org_b, task_b, item_a)
    _assert_foreign_key(exc, "part_reservations_part_item_fk", "part_item_id")
    # the same item is reservable inside its own organization
    await make_reservation(conn, org_a, await _task(conn, org_a), item_a)


async def test_a_compliance_item_cannot_reference_a_task_of_another_organization(conn: asyncpg.Connection) -> None:
    org_a, org_b = await _two_orgs(conn)
    task_a = await _task(conn, org_a)
    await make_compliance_item(conn, org_a, task_a)

    with pytest.raises(asyncpg.ForeignKeyViolationError) as exc:
        await make_compliance_item(conn, org_b, task_a)
    _assert_foreign_key(exc, "compliance_items_task_fk", "task_id")


async def test_a_compliance_item_cannot_be_signed_off_by_a_user_of_another_organization(
    conn: asyncpg.Connection,
) -> None:
    org_a, org_b = await _two_orgs(conn)
    user_a = await make_user(conn, org_a)
    item_b = await make_compliance_item(conn, org_b, await _task(conn, org_b))
    sign_off = "UPDATE compliance_items SET result = 'pass', sign_off_user_id = $2, sign_off_time = now() WHERE id = $1"

    with pytest.raises(asyncpg.ForeignKeyViolationError) as exc:
        await conn.execute(sign_off, item_b, user_a)
    _assert_foreign_key(exc, "compliance_items_sign_off_user_fk", "sign_off_user_id")
    # a user of the item's own organization can sign it off
    await conn.execute(sign_off, item_b, await make_user(conn, org_b))


async def test_an_audit_log_cannot_reference_a_user_of_another_organization(conn: asyncpg.Connection) -> None:
    org_a, org_b = await _two_orgs(conn)
    user_a = await make_user(conn, org_a)
    await make_audit_log(conn, org_a, user_id=user_a)

    with pytest.raises(asyncpg.ForeignKeyViolationError) as exc:
        await make_audit_log(conn, org_b, user_id=user_a)
    _assert_foreign_key(exc, "audit_logs_user_fk", "user_id")


async def test_an_import_cannot_be_created_by_a_user_of_another_organization(conn: asyncpg.Connection) -> None:
    org_a, org_b = await _two_orgs(conn)
    user_a = await make_user(conn, org_a, role="tenant_admin")
    insert = "INSERT INTO imports (org_id, type, file_name, content, created_by) VALUES ($1, 'parts', 'p.csv', $2, $3)"
    await conn.execute(insert, org_a, b"serial\n", user_a)

    with pytest.raises(asyncpg.ForeignKeyViolationError) as exc:
        await conn.execute(insert, org_b, b"serial\n", user_a)
    _assert_foreign_key(exc, "imports_created_by_fk", "created_by")


async def test_a_refresh_token_cannot_belong_to_a_user_of_another_organization(conn: asyncpg.Connection) -> None:
    org_a, org_b = await _two_orgs(conn)
    user_a = await make_user(conn, org_a)
    insert = (
        "INSERT INTO refresh_tokens (org_id, user_id, family_id, token_hash, expires_at) VALUES ($1, $2, $3, $4, $5)"
    )
    await conn.execute(insert, org_a, user_a, uuid.uuid4(), secrets.token_bytes(32), soon())

    with pytest.raises(asyncpg.ForeignKeyViolationError) as exc:
        await conn.execute(insert, org_b, user_a, uuid.uuid4(), secrets.token_bytes(32), soon())
    _assert_foreign_key(exc, "refresh_tokens_user_fk", "user_id")


async def _webhook(conn: asyncpg.Connection, org_id: uuid.UUID) -> uuid.UUID:
    return await conn.fetchval(  # type: ignore[no-any-return]
        "INSERT INTO webhooks (org_id, url, events, secret) VALUES ($1, 'https://hooks.example.test/', $2, $3)"
        " RETURNING id",
        org_id,
        ["task.created"],
        secrets.token_hex(32),
    )


async def _event(conn: asyncpg.Connection, org_id: uuid.UUID) -> uuid.UUID:
    return await conn.fetchval(  # type: ignore[no-any-return]
        "INSERT INTO outbox_events (org_id, aggregate_type, aggregate_id, event_type, payload, dedupe_key)"
        " VALUES ($1, 'task', $2, 'task.created', $3, $4) RETURNING id",
        org_id,
        uuid.uuid4(),
        {},
        uuid.uuid4().hex,
    )


async def test_a_webhook_delivery_cannot_mix_webhooks_and_events_of_two_organizations(
    conn: asyncpg.Connection,
) -> None:
    org_a, org_b = await _two_orgs(conn)
    webhook_a, event_a = await _webhook(conn, org_a), await _event(conn, org_a)
    webhook_b, event_b = await _webhook(conn, org_b), await _event(conn, org_b)
    insert = "INSERT INTO webhook_deliveries (org_id, webhook_id, event_id) VALUES ($1, $2, $3)"
    await conn.execute(insert, org_a, webhook_a, event_a)

    with pytest.raises(asyncpg.ForeignKeyViolationError) as webhook_exc:
        await conn.execute(insert, org_b, webhook_a, event_b)
    with pytest.raises(asyncpg.ForeignKeyViolationError) as event_exc:
        await conn.execute(insert, org_b, webhook_b, event_a)

    _assert_foreign_key(webhook_exc, "webhook_deliveries_webhook_fk", "webhook_id")
    _assert_foreign_key(event_exc, "webhook_deliveries_event_fk", "event_id")


async def test_an_import_row_cannot_belong_to_an_import_of_another_organization(conn: asyncpg.Connection) -> None:
    org_a, org_b = await _two_orgs(conn)
    import_a = await conn.fetchval(
        "INSERT INTO imports (org_id, type, file_name, content, created_by)"
        " VALUES ($1, 'parts', 'p.csv', $2, $3) RETURNING id",
        org_a,
        b"serial\n",
        await make_user(conn, org_a, role="tenant_admin"),
    )
    insert = "INSERT INTO import_rows (org_id, import_id, row_number, raw) VALUES ($1, $2, 1, $3)"
    await conn.execute(insert, org_a, import_a, {"serial": "SN-1"})

    with pytest.raises(asyncpg.ForeignKeyViolationError) as exc:
        await conn.execute(insert, org_b, import_a, {"serial": "SN-1"})
    _assert_foreign_key(exc, "import_rows_import_fk", "import_id")
