"""Compliance items over HTTP: mechanics create and edit them until sign-off; sign-off is the task's
assigned mechanic's (or an admin's), records who and when, announces `compliance_signed`; afterwards
every change is 409 from the API and rejected by the trigger underneath. Each mutation leaves exactly one audit row.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import orjson
import pytest

from amss.api.rest.handlers.maintenance_tasks import ComplianceItemOut
from amss.app.tasks.views import compliance_view
from amss.domain.compliance import ComplianceItem
from amss.domain.enums import ComplianceResult
from amss.infra.postgres.sql import fetch_one
from tests.api_support import Tenant, call
from tests.clients import ApiClient
from tests.integration.api.aircraft_support import raw
from tests.integration.api.route_samples import code_of, raise_rate_limits
from tests.integration.api.task_support import audit_actions, event_keys
from tests.integration.factories import make_aircraft, make_compliance_item, make_task, make_user, soon

ITEMS = "/api/v1/compliance-items"


@pytest.fixture
async def home(conn: asyncpg.Connection, tenant: Tenant) -> Tenant:
    await raise_rate_limits(conn, tenant.org_id)
    return tenant


async def _task(conn: asyncpg.Connection, home: Tenant, **values: object) -> uuid.UUID:
    values.setdefault("assigned_mechanic_id", home["mechanic"].user_id)
    return await make_task(conn, home.org_id, await make_aircraft(conn, home.org_id), soon(48), soon(50), **values)


async def test_create_edit_sign_off_then_immutable(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    task_id = await _task(conn, home)
    mechanic = home["mechanic"]
    status, created, headers = await call(
        api, "POST", ITEMS, mechanic, json={"task_id": str(task_id), "description": "  check torque  "}
    )
    assert status == 201, created
    assert headers["Location"] == f"{ITEMS}/{created['id']}"
    ComplianceItemOut.model_validate_json(orjson.dumps(created), strict=True)
    assert set(created) == set(ComplianceItemOut.model_fields)
    assert (created["description"], created["result"], created["signed_off"], created["version"]) == (
        "check torque",
        "pending",
        False,
        1,
    )
    path = f"{ITEMS}/{created['id']}"

    status, body = await raw(api, "PATCH", path, mechanic, json={"description": "check torque to 40 Nm"})
    assert status == 200, body
    assert orjson.loads(body)["version"] == 2
    assert await raw(api, "GET", path, home["auditor"]) == (200, body)
    status, error, _ = await call(api, "PATCH", path, mechanic, json={"description": "x"}, headers={"If-Match": '"1"'})
    assert (status, code_of(error)) == (412, "PRECONDITION_FAILED"), error

    for refused in (home["scheduler"], home["auditor"], home["tenant_admin"]):
        status, error, _ = await call(api, "PATCH", f"{path}/sign-off", refused, json={"result": "pass"})
        assert (status, code_of(error)) == (403, "FORBIDDEN"), error
    status, error, _ = await call(api, "PATCH", f"{path}/sign-off", mechanic, json={"result": "pending"})
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), error

    status, signed, _ = await call(api, "PATCH", f"{path}/sign-off", mechanic, json={"result": "pass"})
    assert status == 200, signed
    assert (signed["result"], signed["signed_off"], signed["sign_off_user_id"], signed["version"]) == (
        "pass",
        True,
        str(mechanic.user_id),
        3,
    )
    assert signed["sign_off_time"] is not None

    # afterwards: every change is 409 from the API...
    for method, url, body_json in (
        ("PATCH", path, {"description": "changed"}),
        ("PATCH", f"{path}/sign-off", {"result": "fail"}),
    ):
        status, error, _ = await call(api, method, url, mechanic, json=body_json)
        assert (status, code_of(error)) == (409, "CONFLICT"), (url, error)
    # ...and the trigger refuses it underneath
    with pytest.raises(asyncpg.PostgresError) as trigger_refusal:
        await conn.execute("UPDATE compliance_items SET description = 'sneaky' WHERE id = $1", uuid.UUID(created["id"]))
    assert trigger_refusal.value.sqlstate == "AMS02"

    assert await audit_actions(conn, created["id"]) == [("create", 1), ("update", 2), ("state_change", 3)]
    assert await event_keys(conn, created["id"]) == [f"compliance_signed:{home.org_id}:{created['id']}"]
    status, task, _ = await call(api, "GET", f"/api/v1/maintenance-tasks/{task_id}", mechanic)
    assert [item["id"] for item in task["compliance_items"]] == [created["id"]]
    assert task["compliance_items"][0] == signed


async def test_create_refusals(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    closed = await _task(conn, home, state="completed")
    for member, body, expected in (
        (home["mechanic"], {"task_id": str(uuid.uuid4()), "description": "x"}, (400, "VALIDATION_ERROR")),
        (home["mechanic"], {"task_id": str(closed), "description": "x"}, (409, "CONFLICT")),
        (home["mechanic"], {"task_id": str(closed), "description": ""}, (400, "VALIDATION_ERROR")),
        (home["mechanic"], {"task_id": str(closed), "description": "   "}, (400, "VALIDATION_ERROR")),
    ):
        status, error, _ = await call(api, "POST", ITEMS, member, json=body)
        assert (status, code_of(error)) == expected, (body, error)
    assert await conn.fetchval("SELECT count(*) FROM compliance_items WHERE task_id = $1", closed) == 0


async def test_a_new_item_may_say_it_is_pending_and_nothing_else(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    task_id = await _task(conn, home)
    body = {"task_id": str(task_id), "description": "check torque", "result": "pending"}
    status, created, _ = await call(api, "POST", ITEMS, home["mechanic"], json=body)
    assert status == 201, created
    assert (created["result"], created["signed_off"]) == ("pending", False)
    for result in ("pass", "fail", "maybe", None):
        status, error, _ = await call(api, "POST", ITEMS, home["mechanic"], json={**body, "result": result})
        assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), (result, error)
        assert "result" in error["details"]["fields"], error
    assert await conn.fetchval("SELECT count(*) FROM compliance_items WHERE task_id = $1", task_id) == 1


async def test_list_filters(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    task_id = await _task(conn, home)
    open_item = await make_compliance_item(conn, home.org_id, task_id)
    signed_item = await make_compliance_item(conn, home.org_id, task_id)
    status, _, _ = await call(
        api, "PATCH", f"{ITEMS}/{signed_item}/sign-off", home["mechanic"], json={"result": "fail"}
    )
    assert status == 200

    async def ids(query: str) -> set[str]:
        status, page, _ = await call(api, "GET", f"{ITEMS}?{query}", home["scheduler"])
        assert status == 200, page
        return {item["id"] for item in page["items"]}

    assert await ids(f"task_id={task_id}") == {str(open_item), str(signed_item)}
    assert await ids(f"task_id={task_id}&signed=true") == {str(signed_item)}
    assert await ids(f"task_id={task_id}&signed=false") == {str(open_item)}
    assert await ids(f"task_id={task_id}&result=fail") == {str(signed_item)}
    assert await ids(f"task_id={task_id}&result=pending") == {str(open_item)}
    status, error, _ = await call(api, "GET", f"{ITEMS}?result=maybe", home["scheduler"])
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR")


def test_compliance_view_matches_its_schema() -> None:
    now = datetime.now(UTC)
    item = ComplianceItem(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), "check", ComplianceResult.PENDING, 1, now, now)
    assert set(compliance_view(item)) == set(ComplianceItemOut.model_fields)


async def test_only_the_assigned_mechanic_or_an_admin_signs_off(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    other_mechanic = await make_user(conn, home.org_id, "mechanic")
    others_task = await _task(conn, home, assigned_mechanic_id=other_mechanic)
    unassigned_task = await _task(conn, home, assigned_mechanic_id=None)
    for task_id in (others_task, unassigned_task):
        item_id = await make_compliance_item(conn, home.org_id, task_id)
        path = f"{ITEMS}/{item_id}/sign-off"
        status, error, _ = await call(api, "PATCH", path, home["mechanic"], json={"result": "pass"})
        assert (status, code_of(error)) == (403, "FORBIDDEN"), error
        assert await audit_actions(conn, str(item_id)) == []
        row = await fetch_one(
            conn, "SELECT result::text AS result, version FROM compliance_items WHERE id = $1", item_id
        )
        assert (row["result"], row["version"]) == ("pending", 1)
        status, signed, _ = await call(api, "PATCH", path, home["admin"], json={"result": "fail"})
        assert status == 200, signed
        assert (signed["result"], signed["sign_off_user_id"]) == ("fail", str(home["admin"].user_id))
