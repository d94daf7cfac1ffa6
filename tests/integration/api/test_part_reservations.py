"""Part reservations over HTTP (mesh off: the part item's commands run in this process).

Reserving needs an in-stock, unexpired item and a scheduled or in-progress task; it leaves one
audit row and one `part_reserved` event. used/released follow the role rules and their effects
on the item; final states stay final. Twenty concurrent reservations of one item give exactly
one 201 and nineteen 409 CONFLICT, never a 500.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from amss.api.rest.handlers.parts.reservations import PartReservationOut
from amss.domain.enums import Role
from tests.api_support import Tenant, call
from tests.clients import ApiClient
from tests.integration.api.parts_support import audit_rows, events, item_row, reservable
from tests.integration.api.route_samples import code_of, raise_rate_limits
from tests.integration.factories import make_aircraft, make_part_item, make_reservation, make_task, soon


@pytest.fixture
async def home(conn: asyncpg.Connection, tenant: Tenant) -> Tenant:
    await raise_rate_limits(conn, tenant.org_id)
    return tenant


def _reserve_body(task_id: uuid.UUID, item_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
    return {"task_id": str(task_id), "part_item_id": str(item_id), **extra}


def _payload(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else value  # type: ignore[no-any-return]


async def test_reserve_is_201_with_one_audit_row_and_one_part_reserved_event(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    task_id, item_id = await reservable(conn, home.org_id)
    headers = {"Idempotency-Key": f"reserve-{uuid.uuid4()}"}
    status, created, response_headers = await call(
        api,
        "POST",
        "/api/v1/part-reservations",
        home["mechanic"],
        json=_reserve_body(task_id, item_id),
        headers=headers,
    )
    assert status == 201, created
    assert response_headers["Location"] == f"/api/v1/part-reservations/{created['id']}"
    assert (created["task_id"], created["part_item_id"]) == (str(task_id), str(item_id))
    assert (created["state"], created["quantity"], created["version"]) == ("reserved", 1, 1)
    assert set(created) == set(PartReservationOut.model_fields)
    status, again, _ = await call(
        api,
        "POST",
        "/api/v1/part-reservations",
        home["mechanic"],
        json=_reserve_body(task_id, item_id),
        headers=headers,
    )
    assert (status, again) == (201, created)
    status, read, _ = await call(api, "GET", f"/api/v1/part-reservations/{created['id']}", home["auditor"])
    assert (status, read) == (200, created)

    rows = await audit_rows(conn, "part_reservation", created["id"])
    assert [(row["action"], row["entity_version"], row["user_id"]) for row in rows] == [
        ("create", 1, home["mechanic"].user_id)
    ]
    recorded = await events(conn, created["id"])
    assert [(row["event_type"], row["dedupe_key"]) for row in recorded] == [
        ("part_reserved", f"part_reserved:{home.org_id}:{created['id']}")
    ]
    payload = _payload(recorded[0]["payload"])
    assert payload["version"] == 1 and payload["org_id"] == str(home.org_id)
    assert payload["part_reservation_id"] == created["id"]
    assert (payload["data"]["task_id"], payload["data"]["part_item_id"]) == (str(task_id), str(item_id))
    # the item itself did not change
    assert (await item_row(conn, item_id))["status"] == "in_stock"
    # a second reservation of the same item, for any task, is a conflict
    other_task, _ = await reservable(conn, home.org_id)
    status, error, _ = await call(
        api, "POST", "/api/v1/part-reservations", home["scheduler"], json=_reserve_body(other_task, item_id)
    )
    assert (status, code_of(error)) == (409, "CONFLICT"), error


async def test_reserve_refuses_unavailable_items_and_closed_tasks(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    scheduler = home["scheduler"]
    task_id, _ = await reservable(conn, home.org_id)
    disposed = await make_part_item(conn, home.org_id, status="disposed")
    used = await make_part_item(conn, home.org_id, status="used")
    for item_id in (disposed, used):
        status, error, _ = await call(
            api, "POST", "/api/v1/part-reservations", scheduler, json=_reserve_body(task_id, item_id)
        )
        assert (status, code_of(error)) == (409, "CONFLICT"), error
    aircraft_id = await make_aircraft(conn, home.org_id)
    for state in ("completed", "cancelled"):
        closed = await make_task(conn, home.org_id, aircraft_id, soon(10), soon(11), state=state)
        _, item_id = await reservable(conn, home.org_id)
        status, error, _ = await call(
            api, "POST", "/api/v1/part-reservations", scheduler, json=_reserve_body(closed, item_id)
        )
        assert (status, code_of(error)) == (409, "CONFLICT"), (state, error)
    _, item_id = await reservable(conn, home.org_id)
    status, error, _ = await call(
        api, "POST", "/api/v1/part-reservations", scheduler, json=_reserve_body(uuid.uuid4(), item_id)
    )
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), error
    assert error["details"]["fields"] == {"task_id": "does not exist in this organization"}
    status, error, _ = await call(
        api, "POST", "/api/v1/part-reservations", scheduler, json=_reserve_body(task_id, uuid.uuid4())
    )
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), error
    status, error, _ = await call(
        api, "POST", "/api/v1/part-reservations", scheduler, json=_reserve_body(task_id, item_id, quantity=2)
    )
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), error
    assert await conn.fetchval("SELECT count(*) FROM part_reservations WHERE org_id = $1", home.org_id) == 0
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM audit_logs WHERE org_id = $1 AND entity_type = 'part_reservation'", home.org_id
        )
        == 0
    )


async def test_an_expired_item_cannot_be_reserved(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    task_id, _ = await reservable(conn, home.org_id)
    item_id = await make_part_item(conn, home.org_id, expiry_date=datetime.now(UTC) + timedelta(seconds=1))
    await asyncio.sleep(1.2)
    status, error, _ = await call(
        api, "POST", "/api/v1/part-reservations", home["scheduler"], json=_reserve_body(task_id, item_id)
    )
    assert (status, code_of(error)) == (409, "CONFLICT"), error
    assert "expired" in error["error"]


async def test_used_by_the_assigned_mechanic_sets_the_item_used(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    mechanic = home["mechanic"]
    task_id, item_id = await reservable(conn, home.org_id, assigned_mechanic_id=mechanic.user_id)
    reservation_id = await make_reservation(conn, home.org_id, task_id, item_id)
    path = f"/api/v1/part-reservations/{reservation_id}/state"
    status, error, _ = await call(api, "PATCH", path, mechanic, json={"state": "used"}, headers={"If-Match": '"3"'})
    assert (status, code_of(error)) == (412, "PRECONDITION_FAILED"), error
    status, error, _ = await call(api, "PATCH", path, mechanic, json={"state": "reserved"})
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), error
    status, used, _ = await call(api, "PATCH", path, mechanic, json={"state": "used"}, headers={"If-Match": '"1"'})
    assert status == 200, used
    assert (used["state"], used["version"]) == ("used", 2)
    row = await item_row(conn, item_id)
    assert (row["status"], row["version"]) == ("used", 2)
    rows = await audit_rows(conn, "part_reservation", reservation_id)
    assert [(row["action"], row["entity_version"]) for row in rows] == [("state_change", 2)]
    details = _payload(rows[0]["details"])
    assert details["changes"]["state"] == {"from": "reserved", "to": "used"}
    assert details["part_item"]["changes"]["status"] == {"from": "in_stock", "to": "used"}
    assert await audit_rows(conn, "part_item", item_id) == []
    # final: neither released nor used again
    for target in ("released", "used"):
        status, error, _ = await call(api, "PATCH", path, home["scheduler"], json={"state": target})
        assert (status, code_of(error)) == (409, "CONFLICT"), error
        assert (error["details"]["current_state"], error["details"]["rule"]) == ("used", "final_state")


async def test_mark_used_role_rules(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    other_mechanic_task, item_id = await reservable(conn, home.org_id)
    reservation_id = await make_reservation(conn, home.org_id, other_mechanic_task, item_id)
    path = f"/api/v1/part-reservations/{reservation_id}/state"
    # the mechanic is not assigned to this task
    status, error, _ = await call(api, "PATCH", path, home["mechanic"], json={"state": "used"})
    assert (status, code_of(error)) == (403, "FORBIDDEN"), error
    for role in (Role.TENANT_ADMIN, Role.AUDITOR):
        status, error, _ = await call(api, "PATCH", path, home[role], json={"state": "used"})
        assert (status, code_of(error)) == (403, "FORBIDDEN"), error
    assert (await item_row(conn, item_id))["status"] == "in_stock"
    assert await audit_rows(conn, "part_reservation", reservation_id) == []
    # a scheduler may
    status, used, _ = await call(api, "PATCH", path, home["scheduler"], json={"state": "used"})
    assert (status, used["state"]) == (200, "used"), used
    # and an admin may too
    task_id, item_id = await reservable(conn, home.org_id)
    reservation_id = await make_reservation(conn, home.org_id, task_id, item_id)
    status, used, _ = await call(
        api, "PATCH", f"/api/v1/part-reservations/{reservation_id}/state", home["admin"], json={"state": "used"}
    )
    assert (status, used["state"]) == (200, "used"), used


async def test_released_leaves_the_item_in_stock_and_reservable(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    task_id, item_id = await reservable(conn, home.org_id)
    reservation_id = await make_reservation(conn, home.org_id, task_id, item_id)
    path = f"/api/v1/part-reservations/{reservation_id}/state"
    # any mechanic may release, assigned or not
    status, released, _ = await call(api, "PATCH", path, home["mechanic"], json={"state": "released"})
    assert status == 200, released
    assert (released["state"], released["version"]) == ("released", 2)
    row = await item_row(conn, item_id)
    assert (row["status"], row["version"]) == ("in_stock", 1)
    rows = await audit_rows(conn, "part_reservation", reservation_id)
    assert [(row["action"], row["entity_version"]) for row in rows] == [("state_change", 2)]
    status, error, _ = await call(api, "PATCH", path, home["scheduler"], json={"state": "used"})
    assert (status, code_of(error)) == (409, "CONFLICT"), error
    assert error["details"]["current_state"] == "released"
    # the item can be reserved again
    status, again, _ = await call(
        api, "POST", "/api/v1/part-reservations", home["scheduler"], json=_reserve_body(task_id, item_id)
    )
    assert status == 201, again
    status, error, _ = await call(
        api, "PATCH", f"/api/v1/part-reservations/{uuid.uuid4()}/state", home["scheduler"], json={"state": "used"}
    )
    assert (status, code_of(error)) == (404, "NOT_FOUND"), error


async def test_list_filters(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    task_a, item_1 = await reservable(conn, home.org_id)
    task_b, item_2 = await reservable(conn, home.org_id)
    item_3 = await make_part_item(conn, home.org_id)
    first = await make_reservation(conn, home.org_id, task_a, item_1)
    second = await make_reservation(conn, home.org_id, task_a, item_3, state="released")
    third = await make_reservation(conn, home.org_id, task_b, item_2)
    auditor = home["auditor"]
    status, page, _ = await call(api, "GET", f"/api/v1/part-reservations?task_id={task_a}", auditor)
    assert status == 200, page
    assert {item["id"] for item in page["items"]} == {str(first), str(second)}
    status, page, _ = await call(api, "GET", f"/api/v1/part-reservations?part_item_id={item_2}", auditor)
    assert [item["id"] for item in page["items"]] == [str(third)]
    status, page, _ = await call(api, "GET", "/api/v1/part-reservations?state=released", auditor)
    assert [item["id"] for item in page["items"]] == [str(second)]
    status, page, _ = await call(api, "GET", f"/api/v1/part-reservations?task_id={task_a}&state=reserved", auditor)
    assert [item["id"] for item in page["items"]] == [str(first)]
    for bad in ("state=lost", "task_id=1", "sort=state"):
        status, error, _ = await call(api, "GET", f"/api/v1/part-reservations?{bad}", auditor)
        assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), (bad, error)


async def test_twenty_concurrent_reservations_of_one_item_give_exactly_one_201(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    aircraft_id = await make_aircraft(conn, home.org_id)
    item_id = await make_part_item(conn, home.org_id)
    tasks = [await make_task(conn, home.org_id, aircraft_id, soon(100 + 2 * n), soon(101 + 2 * n)) for n in range(20)]
    members = [home["scheduler"], home["mechanic"]]

    async def reserve(n: int) -> tuple[int, Any]:
        status, body, _ = await call(
            api, "POST", "/api/v1/part-reservations", members[n % 2], json=_reserve_body(tasks[n], item_id)
        )
        return status, body

    results = await asyncio.gather(*(reserve(n) for n in range(20)))
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [409] * 19, results
    assert {code_of(body) for status, body in results if status == 409} == {"CONFLICT"}
    assert await conn.fetchval("SELECT count(*) FROM part_reservations WHERE part_item_id = $1", item_id) == 1
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM audit_logs WHERE org_id = $1 AND entity_type = 'part_reservation'", home.org_id
        )
        == 1
    )
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM outbox_events WHERE org_id = $1 AND event_type = 'part_reserved'", home.org_id
        )
        == 1
    )
