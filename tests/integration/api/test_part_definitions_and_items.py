"""Part definitions and part items over HTTP: create (idempotent), read, list with filters, the
limited updates, soft deletes and their refusals. Each mutation leaves exactly one audit row."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from amss.api.rest.handlers.parts.definitions import PartDefinitionOut
from amss.api.rest.handlers.parts.items import PartItemOut
from tests.api_support import Tenant, call
from tests.clients import ApiClient
from tests.integration.api.parts_support import audit_rows, item_row, reservable
from tests.integration.api.route_samples import code_of, raise_rate_limits
from tests.integration.factories import make_part_definition, make_part_item, make_reservation, short_id, soon


@pytest.fixture
async def home(conn: asyncpg.Connection, tenant: Tenant) -> Tenant:
    await raise_rate_limits(conn, tenant.org_id)
    return tenant


def _future(days: int = 30) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


# --- part definitions -----------------------------------------------------------------------------


async def test_definition_create_is_201_idempotent_and_audited(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    name = f"  pump-{short_id()} "
    body = {"name": name, "category": "hydraulics"}
    headers = {"Idempotency-Key": f"def-{uuid.uuid4()}"}
    status, created, response_headers = await call(
        api, "POST", "/api/v1/part-definitions", home["scheduler"], json=body, headers=headers
    )
    assert status == 201, created
    assert response_headers["Location"] == f"/api/v1/part-definitions/{created['id']}"
    assert (created["name"], created["category"], created["version"]) == (name.strip(), "hydraulics", 1)
    assert set(created) == set(PartDefinitionOut.model_fields)
    status, again, _ = await call(
        api, "POST", "/api/v1/part-definitions", home["scheduler"], json=body, headers=headers
    )
    assert (status, again) == (201, created)
    assert await conn.fetchval("SELECT count(*) FROM part_definitions WHERE org_id = $1", home.org_id) == 1
    rows = await audit_rows(conn, "part_definition", created["id"])
    assert [(row["action"], row["entity_version"], row["user_id"]) for row in rows] == [
        ("create", 1, home["scheduler"].user_id)
    ]
    status, error, _ = await call(api, "POST", "/api/v1/part-definitions", home["mechanic"], json=body)
    assert (status, code_of(error)) == (409, "CONFLICT"), error
    status, read, _ = await call(api, "GET", f"/api/v1/part-definitions/{created['id']}", home["auditor"])
    assert (status, read) == (200, created)


async def test_definition_list_filters_by_name_and_category(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    a = await make_part_definition(conn, home.org_id, name=f"a-{short_id()}", category="engine")
    b = await make_part_definition(conn, home.org_id, name=f"b-{short_id()}", category="engine")
    c = await make_part_definition(conn, home.org_id, name=f"c-{short_id()}", category="cabin")
    status, page, _ = await call(api, "GET", "/api/v1/part-definitions?category=engine", home["auditor"])
    assert status == 200, page
    assert {item["id"] for item in page["items"]} == {str(a), str(b)}
    name = await conn.fetchval("SELECT name FROM part_definitions WHERE id = $1", c)
    status, page, _ = await call(api, "GET", f"/api/v1/part-definitions?name={name}", home["auditor"])
    assert [item["id"] for item in page["items"]] == [str(c)]
    status, page, _ = await call(api, "GET", "/api/v1/part-definitions?limit=1&sort=name", home["auditor"])
    assert status == 200 and page["next_cursor"] and page["items"][0]["id"] == str(a)
    status, error, _ = await call(api, "GET", "/api/v1/part-definitions?colour=red", home["auditor"])
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), error


async def test_definition_patch_checks_if_match_and_audits(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    definition_id = await make_part_definition(conn, home.org_id)
    path = f"/api/v1/part-definitions/{definition_id}"
    new_name = f"renamed-{short_id()}"
    status, error, _ = await call(
        api, "PATCH", path, home["mechanic"], json={"name": new_name}, headers={"If-Match": '"7"'}
    )
    assert (status, code_of(error)) == (412, "PRECONDITION_FAILED"), error
    status, updated, _ = await call(
        api, "PATCH", path, home["mechanic"], json={"name": new_name, "category": "x"}, headers={"If-Match": '"1"'}
    )
    assert status == 200, updated
    assert (updated["name"], updated["category"], updated["version"]) == (new_name, "x", 2)
    status, error, _ = await call(api, "PATCH", path, home["mechanic"], json={"name": "  "})
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), error
    status, error, _ = await call(api, "PATCH", path, home["mechanic"], json={"serial": "x"})
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), error
    rows = await audit_rows(conn, "part_definition", definition_id)
    assert [(row["action"], row["entity_version"]) for row in rows] == [("update", 2)]


async def test_definition_delete_is_refused_while_a_live_item_references_it(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    definition_id = await make_part_definition(conn, home.org_id)
    item_id = await make_part_item(conn, home.org_id, definition_id)
    path = f"/api/v1/part-definitions/{definition_id}"
    status, error, _ = await call(api, "DELETE", path, home["scheduler"])
    assert (status, code_of(error)) == (409, "CONFLICT"), error
    assert error["details"]["live_items"] == 1
    status, _, _ = await call(api, "DELETE", f"/api/v1/part-items/{item_id}", home["scheduler"])
    assert status == 204
    status, body, _ = await call(api, "DELETE", path, home["scheduler"])
    assert status == 204, body
    status, error, _ = await call(api, "GET", path, home["scheduler"])
    assert (status, code_of(error)) == (404, "NOT_FOUND")
    rows = await audit_rows(conn, "part_definition", definition_id)
    assert [(row["action"], row["entity_version"]) for row in rows] == [("delete", 2)]
    # a deleted definition takes no new items, and its name is free again
    body = {"part_definition_id": str(definition_id), "serial_number": f"SN-{short_id()}"}
    status, error, _ = await call(api, "POST", "/api/v1/part-items", home["scheduler"], json=body)
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), error


# --- part items -----------------------------------------------------------------------------------


async def test_item_create_validates_and_is_idempotent(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    definition_id = await make_part_definition(conn, home.org_id)
    serial = f"SN-{short_id()}"
    body = {"part_definition_id": str(definition_id), "serial_number": f" {serial} ", "expiry_date": _future()}
    headers = {"Idempotency-Key": f"item-{uuid.uuid4()}"}
    status, created, response_headers = await call(
        api, "POST", "/api/v1/part-items", home["mechanic"], json=body, headers=headers
    )
    assert status == 201, created
    assert response_headers["Location"] == f"/api/v1/part-items/{created['id']}"
    assert (created["serial_number"], created["status"], created["version"]) == (serial, "in_stock", 1)
    assert created["expiry_date"].endswith("Z")
    assert set(created) == set(PartItemOut.model_fields)
    status, again, _ = await call(api, "POST", "/api/v1/part-items", home["mechanic"], json=body, headers=headers)
    assert (status, again) == (201, created)
    rows = await audit_rows(conn, "part_item", created["id"])
    assert [(row["action"], row["entity_version"]) for row in rows] == [("create", 1)]

    status, error, _ = await call(api, "POST", "/api/v1/part-items", home["mechanic"], json=body)
    assert (status, code_of(error)) == (409, "CONFLICT"), error
    past = {**body, "serial_number": f"SN-{short_id()}", "expiry_date": "2020-01-01T00:00:00Z"}
    status, error, _ = await call(api, "POST", "/api/v1/part-items", home["mechanic"], json=past)
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), error
    assert "expiry_date" in error["details"]["fields"]
    unknown = {"part_definition_id": str(uuid.uuid4()), "serial_number": f"SN-{short_id()}"}
    status, error, _ = await call(api, "POST", "/api/v1/part-items", home["mechanic"], json=unknown)
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), error
    naive = {**body, "serial_number": f"SN-{short_id()}", "expiry_date": "2099-01-01T00:00:00"}
    status, error, _ = await call(api, "POST", "/api/v1/part-items", home["mechanic"], json=naive)
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), error


@pytest.mark.parametrize("recorded", ["in_stock", "used", "disposed"])
async def test_an_item_may_be_created_to_record_existing_inventory(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, recorded: str
) -> None:
    definition_id = await make_part_definition(conn, home.org_id)
    body = {"part_definition_id": str(definition_id), "serial_number": f"SN-{short_id()}", "status": recorded}
    status, created, _ = await call(api, "POST", "/api/v1/part-items", home["mechanic"], json=body)
    assert status == 201, created
    assert (created["status"], created["version"]) == (recorded, 1)
    assert (await item_row(conn, created["id"]))["status"] == recorded
    [row] = await audit_rows(conn, "part_item", created["id"])
    assert row["details"]["status"] == recorded
    if recorded != "in_stock":
        # a used or disposed record is kept as it was: not reservable, not editable
        task_id, _ = await reservable(conn, home.org_id)
        reserve = {"task_id": str(task_id), "part_item_id": created["id"]}
        status, error, _ = await call(api, "POST", "/api/v1/part-reservations", home["scheduler"], json=reserve)
        assert (status, code_of(error)) == (409, "CONFLICT"), error
        status, error, _ = await call(
            api, "PATCH", f"/api/v1/part-items/{created['id']}", home["mechanic"], json={"serial_number": "SN-x"}
        )
        assert (status, code_of(error)) == (409, "CONFLICT"), error


@pytest.mark.parametrize("status_value", ["reserved", "lost", "", None])
async def test_an_item_cannot_be_created_in_another_status(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, status_value: object
) -> None:
    definition_id = await make_part_definition(conn, home.org_id)
    body = {"part_definition_id": str(definition_id), "serial_number": f"SN-{short_id()}", "status": status_value}
    status, error, _ = await call(api, "POST", "/api/v1/part-items", home["mechanic"], json=body)
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), error
    assert "status" in error["details"]["fields"]


async def test_a_used_item_keeps_the_expiry_rule(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    definition_id = await make_part_definition(conn, home.org_id)
    body = {
        "part_definition_id": str(definition_id),
        "serial_number": f"SN-{short_id()}",
        "status": "used",
        "expiry_date": "2020-01-01T00:00:00Z",
    }
    status, error, _ = await call(api, "POST", "/api/v1/part-items", home["mechanic"], json=body)
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), error
    assert "expiry_date" in error["details"]["fields"]


async def test_item_list_filters(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    definition_a = await make_part_definition(conn, home.org_id)
    definition_b = await make_part_definition(conn, home.org_id)
    soon_expiring = await make_part_item(
        conn, home.org_id, definition_a, expiry_date=datetime.now(UTC) + timedelta(days=2)
    )
    later = await make_part_item(conn, home.org_id, definition_a, expiry_date=datetime.now(UTC) + timedelta(days=90))
    disposed = await make_part_item(conn, home.org_id, definition_b, status="disposed")
    status, page, _ = await call(api, "GET", f"/api/v1/part-items?definition_id={definition_a}", home["auditor"])
    assert status == 200, page
    assert {item["id"] for item in page["items"]} == {str(soon_expiring), str(later)}
    before = (datetime.now(UTC) + timedelta(days=10)).isoformat().replace("+00:00", "Z")
    status, page, _ = await call(api, "GET", f"/api/v1/part-items?expiry_before={before}", home["auditor"])
    assert [item["id"] for item in page["items"]] == [str(soon_expiring)]
    status, page, _ = await call(api, "GET", "/api/v1/part-items?status=disposed", home["auditor"])
    assert [item["id"] for item in page["items"]] == [str(disposed)]
    for bad in ("status=lost", "definition_id=nope", "expiry_before=tomorrow"):
        status, error, _ = await call(api, "GET", f"/api/v1/part-items?{bad}", home["auditor"])
        assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), (bad, error)


async def test_item_patch_limited_updates_through_the_actor(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    item_id = await make_part_item(conn, home.org_id, expiry_date=soon(24 * 90))  # an expiry it cannot lose
    path = f"/api/v1/part-items/{item_id}"
    serial = f"SN-new-{short_id()}"
    status, updated, _ = await call(
        api, "PATCH", path, home["mechanic"], json={"serial_number": serial}, headers={"If-Match": '"1"'}
    )
    assert status == 200, updated
    assert (updated["serial_number"], updated["version"]) == (serial, 2)
    status, error, _ = await call(
        api, "PATCH", path, home["mechanic"], json={"serial_number": "x"}, headers={"If-Match": '"1"'}
    )
    assert (status, code_of(error)) == (412, "PRECONDITION_FAILED"), error
    status, error, _ = await call(api, "PATCH", path, home["mechanic"], json={"expiry_date": "2020-01-01T00:00:00Z"})
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), error
    status, error, _ = await call(api, "PATCH", path, home["mechanic"], json={"expiry_date": None})
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), error
    assert "cannot be removed" in error["details"]["fields"]["expiry_date"]
    status, error, _ = await call(api, "PATCH", path, home["mechanic"], json={"status": "used"})
    assert (status, code_of(error)) == (409, "CONFLICT"), error
    assert error["details"]["rule"] == "only_through_reservation"
    status, error, _ = await call(api, "PATCH", path, home["mechanic"], json={"part_definition_id": str(uuid.uuid4())})
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), error
    status, disposed, _ = await call(api, "PATCH", path, home["scheduler"], json={"status": "disposed"})
    assert status == 200, disposed
    assert (disposed["status"], disposed["version"]) == ("disposed", 3)
    # a disposed item is a traceability record
    status, error, _ = await call(api, "PATCH", path, home["scheduler"], json={"serial_number": f"SN-{short_id()}"})
    assert (status, code_of(error)) == (409, "CONFLICT"), error
    rows = await audit_rows(conn, "part_item", item_id)
    assert [(row["action"], row["entity_version"]) for row in rows] == [("update", 2), ("state_change", 3)]
    status, error, _ = await call(
        api, "PATCH", f"/api/v1/part-items/{uuid.uuid4()}", home["scheduler"], json={"serial_number": "x"}
    )
    assert (status, code_of(error)) == (404, "NOT_FOUND"), error


async def test_a_reserved_item_cannot_be_disposed_or_deleted(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    task_id, item_id = await reservable(conn, home.org_id)
    await make_reservation(conn, home.org_id, task_id, item_id)
    path = f"/api/v1/part-items/{item_id}"
    status, error, _ = await call(api, "PATCH", path, home["scheduler"], json={"status": "disposed"})
    assert (status, code_of(error)) == (409, "CONFLICT"), error
    assert error["details"]["rule"] == "item_reserved"
    status, error, _ = await call(api, "DELETE", path, home["scheduler"])
    assert (status, code_of(error)) == (409, "CONFLICT"), error
    row = await item_row(conn, item_id)
    assert (row["status"], row["version"], row["deleted_at"]) == ("in_stock", 1, None)
    assert await audit_rows(conn, "part_item", item_id) == []


async def test_item_delete_is_soft_and_audited(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    item_id = await make_part_item(conn, home.org_id)
    status, error, _ = await call(
        api, "DELETE", f"/api/v1/part-items/{item_id}", home["mechanic"], headers={"If-Match": '"4"'}
    )
    assert (status, code_of(error)) == (412, "PRECONDITION_FAILED"), error
    status, body, _ = await call(api, "DELETE", f"/api/v1/part-items/{item_id}", home["mechanic"])
    assert status == 204, body
    row = await item_row(conn, item_id)
    assert row["deleted_at"] is not None and row["version"] == 2
    status, error, _ = await call(api, "GET", f"/api/v1/part-items/{item_id}", home["mechanic"])
    assert (status, code_of(error)) == (404, "NOT_FOUND")
    rows = await audit_rows(conn, "part_item", item_id)
    assert [(row["action"], row["entity_version"]) for row in rows] == [("delete", 2)]
