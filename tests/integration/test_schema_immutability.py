"""Append-only audit log (AMS01) and signed compliance items frozen after sign-off (AMS02).

Both triggers are ENABLE ALWAYS, so session_replication_role = replica does not switch them off.
Statements that might change rows of other tests (TRUNCATE) run in a transaction that is always
rolled back.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg
import pytest

from amss.domain.errors import Immutable
from amss.infra.postgres.errors import translate
from tests.integration.factories import (
    make_aircraft,
    make_audit_log,
    make_compliance_item,
    make_org,
    make_task,
    make_user,
    soon,
    utc,
)

AUDIT_IMMUTABLE = "AMS01"
SIGNED_IMMUTABLE = "AMS02"

SIGN_OFF = (
    "UPDATE compliance_items SET result = 'pass', sign_off_user_id = $2, sign_off_time = now(),"
    " version = version + 1, updated_at = now() WHERE id = $1"
)


@asynccontextmanager
async def replica_role(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """session_replication_role = replica on this connection only, reset afterwards whatever happens."""
    await conn.execute("SET session_replication_role = replica")
    try:
        yield
    finally:
        await conn.execute("RESET session_replication_role")
    assert await conn.fetchval("SHOW session_replication_role") == "origin"


async def _rejected(conn: asyncpg.Connection, statement: str, *args: object) -> asyncpg.PostgresError:
    """Run the statement in a transaction that is rolled back in any case; return the error it must raise."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        with pytest.raises(asyncpg.PostgresError) as exc:
            await conn.execute(statement, *args)
    finally:
        await transaction.rollback()
    return exc.value


def _assert_immutable(error: asyncpg.PostgresError, sqlstate: str) -> None:
    assert error.sqlstate == sqlstate
    assert type(translate(error)) is Immutable


# --- audit log -----------------------------------------------------------------------------------

AUDIT_CHANGES = [
    pytest.param("UPDATE audit_logs SET details = '{\"changed\": true}' WHERE id = $1", id="update"),
    pytest.param("UPDATE audit_logs SET entity_version = entity_version WHERE id = $1", id="no-op-update"),
    pytest.param("DELETE FROM audit_logs WHERE id = $1", id="delete"),
]


async def _audit_entry(conn: asyncpg.Connection) -> tuple[uuid.UUID, asyncpg.Record]:
    org_id = await make_org(conn)
    entry_id = await make_audit_log(conn, org_id, user_id=await make_user(conn, org_id), details={"n": 1})
    row = await conn.fetchrow("SELECT * FROM audit_logs WHERE id = $1", entry_id)
    assert row is not None
    return entry_id, row


@pytest.mark.parametrize("statement", AUDIT_CHANGES)
async def test_audit_log_entries_cannot_be_updated_or_deleted(conn: asyncpg.Connection, statement: str) -> None:
    entry_id, before = await _audit_entry(conn)

    with pytest.raises(asyncpg.PostgresError) as exc:
        await conn.execute(statement, entry_id)

    _assert_immutable(exc.value, AUDIT_IMMUTABLE)
    assert await conn.fetchrow("SELECT * FROM audit_logs WHERE id = $1", entry_id) == before


async def test_the_audit_log_cannot_be_truncated(conn: asyncpg.Connection) -> None:
    await _audit_entry(conn)

    error = await _rejected(conn, "TRUNCATE audit_logs")

    _assert_immutable(error, AUDIT_IMMUTABLE)


@pytest.mark.parametrize("statement", [*AUDIT_CHANGES, pytest.param("TRUNCATE audit_logs", id="truncate")])
async def test_the_audit_log_stays_append_only_under_replication_role_replica(
    conn: asyncpg.Connection, statement: str
) -> None:
    entry_id, before = await _audit_entry(conn)
    args = () if statement.startswith("TRUNCATE") else (entry_id,)

    async with replica_role(conn):
        error = await _rejected(conn, statement, *args)

    _assert_immutable(error, AUDIT_IMMUTABLE)
    assert await conn.fetchrow("SELECT * FROM audit_logs WHERE id = $1", entry_id) == before


async def test_audit_log_entries_can_be_appended(conn: asyncpg.Connection) -> None:
    org_id = await make_org(conn)
    await make_audit_log(conn, org_id)
    await make_audit_log(conn, org_id, action="update")

    assert await conn.fetchval("SELECT count(*) FROM audit_logs WHERE org_id = $1", org_id) == 2


# --- compliance items ----------------------------------------------------------------------------


async def _compliance_item(conn: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """(compliance item id, a mechanic of its organization, its task)."""
    org_id = await make_org(conn)
    task_id = await make_task(conn, org_id, await make_aircraft(conn, org_id), utc(2031, 3, 1, 10), utc(2031, 3, 1, 12))
    item_id = await make_compliance_item(conn, org_id, task_id, description="torque check")
    return item_id, await make_user(conn, org_id), task_id


async def _signed_compliance_item(conn: asyncpg.Connection) -> tuple[uuid.UUID, asyncpg.Record]:
    item_id, mechanic_id, _ = await _compliance_item(conn)
    await conn.execute(SIGN_OFF, item_id, mechanic_id)
    row = await conn.fetchrow("SELECT * FROM compliance_items WHERE id = $1", item_id)
    assert row is not None
    return item_id, row


async def test_an_unsigned_compliance_item_can_be_edited(conn: asyncpg.Connection) -> None:
    item_id, _, _ = await _compliance_item(conn)

    await conn.execute(
        "UPDATE compliance_items SET description = 'torque check, both wheels', version = version + 1 WHERE id = $1",
        item_id,
    )

    row = await conn.fetchrow("SELECT description, version FROM compliance_items WHERE id = $1", item_id)
    assert row is not None
    assert (row["description"], row["version"]) == ("torque check, both wheels", 2)


async def test_an_unsigned_compliance_item_can_be_deleted(conn: asyncpg.Connection) -> None:
    item_id, _, _ = await _compliance_item(conn)

    assert await conn.execute("DELETE FROM compliance_items WHERE id = $1", item_id) == "DELETE 1"


async def test_a_compliance_item_can_be_signed_off(conn: asyncpg.Connection) -> None:
    item_id, mechanic_id, _ = await _compliance_item(conn)

    assert await conn.execute(SIGN_OFF, item_id, mechanic_id) == "UPDATE 1"

    row = await conn.fetchrow("SELECT * FROM compliance_items WHERE id = $1", item_id)
    assert row is not None
    assert (row["result"], row["sign_off_user_id"], row["version"]) == ("pass", mechanic_id, 2)
    assert row["sign_off_time"] is not None


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("UPDATE compliance_items SET description = 'changed' WHERE id = $1", id="description"),
        pytest.param("UPDATE compliance_items SET result = 'fail' WHERE id = $1", id="result"),
        pytest.param("UPDATE compliance_items SET deleted_at = now() WHERE id = $1", id="soft-delete"),
        pytest.param("UPDATE compliance_items SET sign_off_time = now() WHERE id = $1", id="sign-off-time-again"),
        pytest.param(
            "UPDATE compliance_items SET result = 'fail', sign_off_user_id = sign_off_user_id,"
            " sign_off_time = now() WHERE id = $1",
            id="second-sign-off",
        ),
        pytest.param(
            "UPDATE compliance_items SET result = 'pending', sign_off_user_id = NULL, sign_off_time = NULL"
            " WHERE id = $1",
            id="withdraw-sign-off",
        ),
        pytest.param(
            "UPDATE compliance_items SET version = version + 1, updated_at = now() WHERE id = $1", id="bump-version"
        ),
        pytest.param("UPDATE compliance_items SET description = description WHERE id = $1", id="no-op"),
        pytest.param("DELETE FROM compliance_items WHERE id = $1", id="delete"),
    ],
)
async def test_a_signed_compliance_item_cannot_be_changed_or_deleted(conn: asyncpg.Connection, statement: str) -> None:
    item_id, before = await _signed_compliance_item(conn)

    with pytest.raises(asyncpg.PostgresError) as exc:
        await conn.execute(statement, item_id)

    _assert_immutable(exc.value, SIGNED_IMMUTABLE)
    assert await conn.fetchrow("SELECT * FROM compliance_items WHERE id = $1", item_id) == before


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param("description = 'signed, but also rewritten'", id="description"),
        pytest.param("deleted_at = now()", id="soft-delete"),
        pytest.param("created_at = created_at - interval '1 day'", id="created_at"),
    ],
)
async def test_a_sign_off_that_also_changes_other_columns_is_rejected(conn: asyncpg.Connection, extra: str) -> None:
    item_id, mechanic_id, _ = await _compliance_item(conn)
    before = await conn.fetchrow("SELECT * FROM compliance_items WHERE id = $1", item_id)

    with pytest.raises(asyncpg.PostgresError) as exc:
        await conn.execute(
            "UPDATE compliance_items SET result = 'pass', sign_off_user_id = $2, sign_off_time = now(),"
            f" {extra} WHERE id = $1",
            item_id,
            mechanic_id,
        )

    _assert_immutable(exc.value, SIGNED_IMMUTABLE)
    assert await conn.fetchrow("SELECT * FROM compliance_items WHERE id = $1", item_id) == before


async def test_a_sign_off_that_moves_the_item_to_another_task_is_rejected(conn: asyncpg.Connection) -> None:
    item_id, mechanic_id, task_id = await _compliance_item(conn)
    org_id = await conn.fetchval("SELECT org_id FROM maintenance_tasks WHERE id = $1", task_id)
    other_task_id = await make_task(
        conn, org_id, await make_aircraft(conn, org_id), utc(2031, 3, 1, 10), utc(2031, 3, 1, 12)
    )

    with pytest.raises(asyncpg.PostgresError) as exc:
        await conn.execute(
            "UPDATE compliance_items SET result = 'pass', sign_off_user_id = $2, sign_off_time = now(), task_id = $3"
            " WHERE id = $1",
            item_id,
            mechanic_id,
            other_task_id,
        )

    _assert_immutable(exc.value, SIGNED_IMMUTABLE)


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param("UPDATE compliance_items SET description = 'changed' WHERE id = $1", id="update"),
        pytest.param("DELETE FROM compliance_items WHERE id = $1", id="delete"),
    ],
)
async def test_a_signed_compliance_item_stays_immutable_under_replication_role_replica(
    conn: asyncpg.Connection, statement: str
) -> None:
    item_id, before = await _signed_compliance_item(conn)

    async with replica_role(conn):
        error = await _rejected(conn, statement, item_id)

    _assert_immutable(error, SIGNED_IMMUTABLE)
    assert await conn.fetchrow("SELECT * FROM compliance_items WHERE id = $1", item_id) == before


async def test_a_sign_off_under_replication_role_replica_still_may_not_change_other_columns(
    conn: asyncpg.Connection,
) -> None:
    item_id, mechanic_id, _ = await _compliance_item(conn)

    async with replica_role(conn):
        error = await _rejected(
            conn,
            "UPDATE compliance_items SET result = 'pass', sign_off_user_id = $2, sign_off_time = now(),"
            " description = 'rewritten' WHERE id = $1",
            item_id,
            mechanic_id,
        )

    _assert_immutable(error, SIGNED_IMMUTABLE)


async def test_signed_compliance_items_cannot_be_truncated(conn: asyncpg.Connection) -> None:
    await _signed_compliance_item(conn)

    error = await _rejected(conn, "TRUNCATE compliance_items")

    _assert_immutable(error, SIGNED_IMMUTABLE)


async def test_a_compliance_item_cannot_be_created_already_signed(conn: asyncpg.Connection) -> None:
    org_id = await make_org(conn)
    mechanic_id = await make_user(conn, org_id, "mechanic")
    aircraft_id = await make_aircraft(conn, org_id)
    task_id = await make_task(conn, org_id, aircraft_id, soon(1), soon(2))
    with pytest.raises(asyncpg.PostgresError) as exc:
        await make_compliance_item(
            conn, org_id, task_id, result="pass", sign_off_user_id=mechanic_id, sign_off_time=datetime.now(UTC)
        )
    assert exc.value.sqlstate == "AMS02"


async def test_a_deleted_compliance_item_cannot_be_signed_off(conn: asyncpg.Connection) -> None:
    org_id = await make_org(conn)
    mechanic_id = await make_user(conn, org_id, "mechanic")
    aircraft_id = await make_aircraft(conn, org_id)
    task_id = await make_task(conn, org_id, aircraft_id, soon(1), soon(2))
    item_id = await make_compliance_item(conn, org_id, task_id)
    await conn.execute("UPDATE compliance_items SET deleted_at = now() WHERE id = $1", item_id)
    with pytest.raises(asyncpg.PostgresError) as exc:
        await conn.execute(
            "UPDATE compliance_items SET result = 'pass', sign_off_user_id = $2, sign_off_time = now() WHERE id = $1",
            item_id,
            mechanic_id,
        )
    assert exc.value.sqlstate == "AMS02"
