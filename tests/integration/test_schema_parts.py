"""Part reservations and part item expiry.

part_reservations_one_active_per_item allows one 'reserved' reservation per item; the trigger
part_reservations_item_available (AMS04) allows reserving only a live, in-stock, unexpired item;
the trigger part_items_expiry_in_future (AMS03) rejects setting an expiry that is not in the future.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta

import asyncpg
import pytest

from amss.domain.errors import Conflict, ValidationFailed
from amss.infra.postgres.errors import translate
from tests.integration.factories import (
    make_aircraft,
    make_org,
    make_part_definition,
    make_part_item,
    make_reservation,
    make_task,
    short_id,
    soon,
    utc,
)

UNAVAILABLE = "AMS04"
EXPIRY_NOT_FUTURE = "AMS03"


async def _task(conn: asyncpg.Connection, org_id: uuid.UUID) -> uuid.UUID:
    return await make_task(conn, org_id, await make_aircraft(conn, org_id), utc(2031, 3, 1, 10), utc(2031, 3, 1, 12))


async def _org_task_item(conn: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    org_id = await make_org(conn)
    return org_id, await _task(conn, org_id), await make_part_item(conn, org_id)


async def _item_expiring_right_after_insert(conn: asyncpg.Connection, org_id: uuid.UUID) -> uuid.UUID:
    """An item whose expiry has passed: the trigger only lets an expiry in the future in, so wait for it to pass."""
    item_id: uuid.UUID = await conn.fetchval(
        "INSERT INTO part_items (org_id, part_definition_id, serial_number, expiry_date)"
        " VALUES ($1, $2, $3, now() + interval '50 milliseconds') RETURNING id",
        org_id,
        await make_part_definition(conn, org_id),
        f"SN-{short_id()}",
    )
    await asyncio.sleep(0.1)
    assert await conn.fetchval("SELECT expiry_date <= now() FROM part_items WHERE id = $1", item_id)
    return item_id


def _assert_unavailable(exc: pytest.ExceptionInfo[asyncpg.PostgresError]) -> None:
    assert exc.value.sqlstate == UNAVAILABLE
    error = translate(exc.value)
    assert type(error) is Conflict
    assert error.details == {"field": "part_item_id"}


def _assert_expiry_rejected(exc: pytest.ExceptionInfo[asyncpg.PostgresError]) -> None:
    assert exc.value.sqlstate == EXPIRY_NOT_FUTURE
    error = translate(exc.value)
    assert type(error) is ValidationFailed
    assert "expiry_date" in error.details["fields"]


# --- one active reservation per item -------------------------------------------------------------


async def test_a_second_active_reservation_of_one_part_item_is_rejected(conn: asyncpg.Connection) -> None:
    org_id, task_id, item_id = await _org_task_item(conn)
    await make_reservation(conn, org_id, task_id, item_id)

    with pytest.raises(asyncpg.UniqueViolationError) as exc:
        await make_reservation(conn, org_id, await _task(conn, org_id), item_id)
    assert exc.value.constraint_name == "part_reservations_one_active_per_item"
    error = translate(exc.value)
    assert type(error) is Conflict
    assert error.details == {"field": "part_item_id"}


async def test_a_released_reservation_lets_the_item_be_reserved_again(conn: asyncpg.Connection) -> None:
    org_id, task_id, item_id = await _org_task_item(conn)
    first = await make_reservation(conn, org_id, task_id, item_id)
    await conn.execute("UPDATE part_reservations SET state = 'released' WHERE id = $1", first)

    second = await make_reservation(conn, org_id, await _task(conn, org_id), item_id)

    states = await conn.fetch("SELECT id, state FROM part_reservations WHERE part_item_id = $1", item_id)
    assert {row["id"]: row["state"] for row in states} == {first: "released", second: "reserved"}


async def test_a_used_part_item_cannot_be_reserved_again(conn: asyncpg.Connection) -> None:
    org_id, task_id, item_id = await _org_task_item(conn)
    first = await make_reservation(conn, org_id, task_id, item_id)
    await conn.execute("UPDATE part_reservations SET state = 'used' WHERE id = $1", first)
    await conn.execute("UPDATE part_items SET status = 'used' WHERE id = $1", item_id)

    with pytest.raises(asyncpg.PostgresError) as exc:
        await make_reservation(conn, org_id, await _task(conn, org_id), item_id)
    _assert_unavailable(exc)


async def test_a_used_reservation_does_not_hold_an_item_that_is_back_in_stock(conn: asyncpg.Connection) -> None:
    org_id, task_id, item_id = await _org_task_item(conn)
    first = await make_reservation(conn, org_id, task_id, item_id)
    await conn.execute("UPDATE part_reservations SET state = 'used' WHERE id = $1", first)

    # only 'reserved' reservations take part in part_reservations_one_active_per_item
    second = await make_reservation(conn, org_id, await _task(conn, org_id), item_id)

    assert second != first


async def test_a_reservation_quantity_must_be_positive(conn: asyncpg.Connection) -> None:
    org_id, task_id, item_id = await _org_task_item(conn)

    for quantity in (0, -1):
        with pytest.raises(asyncpg.CheckViolationError) as exc:
            await make_reservation(conn, org_id, task_id, item_id, quantity=quantity)
        assert exc.value.constraint_name == "part_reservations_quantity_positive"
        assert type(translate(exc.value)) is ValidationFailed
    assert await make_reservation(conn, org_id, task_id, item_id, quantity=1) is not None


# --- only available items can be reserved --------------------------------------------------------


async def test_a_disposed_part_item_cannot_be_reserved(conn: asyncpg.Connection) -> None:
    org_id, task_id, item_id = await _org_task_item(conn)
    await conn.execute("UPDATE part_items SET status = 'disposed' WHERE id = $1", item_id)

    with pytest.raises(asyncpg.PostgresError) as exc:
        await make_reservation(conn, org_id, task_id, item_id)
    _assert_unavailable(exc)


async def test_a_soft_deleted_part_item_cannot_be_reserved(conn: asyncpg.Connection) -> None:
    org_id, task_id, item_id = await _org_task_item(conn)
    await conn.execute("UPDATE part_items SET deleted_at = now() WHERE id = $1", item_id)

    with pytest.raises(asyncpg.PostgresError) as exc:
        await make_reservation(conn, org_id, task_id, item_id)
    _assert_unavailable(exc)


async def test_an_expired_part_item_cannot_be_reserved(conn: asyncpg.Connection) -> None:
    org_id = await make_org(conn)
    item_id = await _item_expiring_right_after_insert(conn, org_id)

    with pytest.raises(asyncpg.PostgresError) as exc:
        await make_reservation(conn, org_id, await _task(conn, org_id), item_id)
    _assert_unavailable(exc)


async def test_an_in_stock_item_with_a_future_expiry_can_be_reserved(conn: asyncpg.Connection) -> None:
    org_id = await make_org(conn)
    item_id = await make_part_item(conn, org_id, expiry_date=soon(24 * 30))

    assert await make_reservation(conn, org_id, await _task(conn, org_id), item_id) is not None


async def test_reactivating_a_released_reservation_of_an_unavailable_item_is_rejected(
    conn: asyncpg.Connection,
) -> None:
    org_id, task_id, item_id = await _org_task_item(conn)
    reservation_id = await make_reservation(conn, org_id, task_id, item_id, state="released")
    await conn.execute("UPDATE part_items SET status = 'disposed' WHERE id = $1", item_id)

    with pytest.raises(asyncpg.PostgresError) as exc:
        await conn.execute("UPDATE part_reservations SET state = 'reserved' WHERE id = $1", reservation_id)
    _assert_unavailable(exc)


async def test_moving_an_active_reservation_to_an_unavailable_item_is_rejected(conn: asyncpg.Connection) -> None:
    org_id, task_id, item_id = await _org_task_item(conn)
    reservation_id = await make_reservation(conn, org_id, task_id, item_id)
    disposed_id = await make_part_item(conn, org_id, status="disposed")

    with pytest.raises(asyncpg.PostgresError) as exc:
        await conn.execute("UPDATE part_reservations SET part_item_id = $2 WHERE id = $1", reservation_id, disposed_id)
    _assert_unavailable(exc)


async def test_an_active_reservation_can_be_consumed_after_its_item_is_marked_used(conn: asyncpg.Connection) -> None:
    org_id, task_id, item_id = await _org_task_item(conn)
    reservation_id = await make_reservation(conn, org_id, task_id, item_id)
    await conn.execute("UPDATE part_items SET status = 'used' WHERE id = $1", item_id)

    await conn.execute("UPDATE part_reservations SET state = 'used' WHERE id = $1", reservation_id)

    assert await conn.fetchval("SELECT state FROM part_reservations WHERE id = $1", reservation_id) == "used"


async def test_the_availability_check_also_runs_under_replication_role_replica(conn: asyncpg.Connection) -> None:
    org_id, task_id, item_id = await _org_task_item(conn)
    await conn.execute("UPDATE part_items SET status = 'disposed' WHERE id = $1", item_id)
    await conn.execute("SET session_replication_role = replica")
    try:
        with pytest.raises(asyncpg.PostgresError) as exc:
            await make_reservation(conn, org_id, task_id, item_id)
    finally:
        await conn.execute("RESET session_replication_role")
    _assert_unavailable(exc)


# --- expiry in the future ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expiry_sql",
    [
        pytest.param("now()", id="now"),
        pytest.param("now() - interval '1 second'", id="a-second-ago"),
        pytest.param("now() - interval '30 days'", id="a-month-ago"),
    ],
)
async def test_a_part_item_cannot_be_created_with_an_expiry_not_in_the_future(
    conn: asyncpg.Connection, expiry_sql: str
) -> None:
    org_id = await make_org(conn)
    definition_id = await make_part_definition(conn, org_id)

    with pytest.raises(asyncpg.PostgresError) as exc:
        await conn.execute(
            "INSERT INTO part_items (org_id, part_definition_id, serial_number, expiry_date)"
            f" VALUES ($1, $2, 'SN-1', {expiry_sql})",
            org_id,
            definition_id,
        )
    _assert_expiry_rejected(exc)


@pytest.mark.parametrize("expiry", [pytest.param(None, id="no-expiry"), pytest.param(soon(1), id="in-an-hour")])
async def test_a_part_item_can_be_created_with_a_future_expiry_or_none(
    conn: asyncpg.Connection, expiry: datetime | None
) -> None:
    org_id = await make_org(conn)

    item_id = await make_part_item(conn, org_id, expiry_date=expiry)

    assert await conn.fetchval("SELECT expiry_date FROM part_items WHERE id = $1", item_id) == expiry


async def test_an_expiry_date_cannot_be_moved_into_the_past(conn: asyncpg.Connection) -> None:
    org_id = await make_org(conn)
    item_id = await make_part_item(conn, org_id, expiry_date=soon(24))

    with pytest.raises(asyncpg.PostgresError) as exc:
        await conn.execute(
            "UPDATE part_items SET expiry_date = $2 WHERE id = $1", item_id, soon(24) - timedelta(days=30)
        )
    _assert_expiry_rejected(exc)
    # moving it further into the future is fine
    await conn.execute("UPDATE part_items SET expiry_date = $2 WHERE id = $1", item_id, soon(48))


async def test_an_expired_item_keeps_its_expiry_while_other_columns_change(conn: asyncpg.Connection) -> None:
    org_id = await make_org(conn)
    item_id = await _item_expiring_right_after_insert(conn, org_id)

    # the unchanged expiry is not revalidated, whether expiry_date is in the SET list or not
    await conn.execute("UPDATE part_items SET status = 'disposed' WHERE id = $1", item_id)
    await conn.execute("UPDATE part_items SET expiry_date = expiry_date, version = version + 1 WHERE id = $1", item_id)
    with pytest.raises(asyncpg.PostgresError) as exc:
        await conn.execute("UPDATE part_items SET expiry_date = expiry_date - interval '1 day' WHERE id = $1", item_id)

    _assert_expiry_rejected(exc)
    row = await conn.fetchrow("SELECT status, version FROM part_items WHERE id = $1", item_id)
    assert row is not None
    assert (row["status"], row["version"]) == ("disposed", 2)


async def test_the_expiry_check_also_runs_under_replication_role_replica(conn: asyncpg.Connection) -> None:
    org_id = await make_org(conn)
    definition_id = await make_part_definition(conn, org_id)
    await conn.execute("SET session_replication_role = replica")
    try:
        with pytest.raises(asyncpg.PostgresError) as exc:
            await make_part_item(conn, org_id, definition_id, expiry_date=utc(2000, 1, 1))
    finally:
        await conn.execute("RESET session_replication_role")
    _assert_expiry_rejected(exc)
