"""Maintenance programs over HTTP: create (templates too), read, list with filters, PATCH with If-Match,
soft delete, validation, uniqueness, roles; each mutation leaves exactly one audit row."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from amss.api.rest.handlers.maintenance_programs import ProgramOut
from amss.app.programs.service import program_view
from amss.domain.enums import IntervalType
from amss.domain.programs import MaintenanceProgram
from tests.api_support import Member, Tenant, call
from tests.clients import ApiClient
from tests.integration.api.route_samples import raise_rate_limits
from tests.integration.factories import make_aircraft, short_id

BASE = "/api/v1/maintenance-programs"


@pytest.fixture
async def home(conn: asyncpg.Connection, tenant: Tenant) -> Tenant:
    await raise_rate_limits(conn, tenant.org_id)
    return tenant


async def create(api: ApiClient, member: Member, **fields: Any) -> dict[str, Any]:
    body = {"name": f"A-check {short_id()}", "interval_type": "calendar", "interval_value": 30, **fields}
    status, created, _ = await call(api, "POST", BASE, member, json=body)
    assert status == 201, created
    return created  # type: ignore[no-any-return]


async def audit_rows(conn: asyncpg.Connection, program_id: str) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT action::text AS action, entity_version, user_id, details FROM audit_logs"
        " WHERE entity_type = 'maintenance_program' AND entity_id = $1 ORDER BY entity_version",
        uuid.UUID(program_id),
    )


def test_view_matches_the_out_model() -> None:
    now = datetime.now(UTC)
    program = MaintenanceProgram(uuid.uuid4(), uuid.uuid4(), "x", IntervalType.CYCLES, 5, 1, now, now)
    assert (
        ProgramOut.model_validate(program_view(program)).model_dump(mode="json").keys() == program_view(program).keys()
    )


async def test_create_read_and_audit(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    aircraft_id = await make_aircraft(conn, home.org_id)
    body = {
        "name": "  C-check ",
        "aircraft_id": str(aircraft_id),
        "interval_type": "flight_hours",
        "interval_value": 600,
        "last_performed": "2026-01-10T10:00:00+02:00",
        "last_performed_usage": 1200,
    }
    status, created, headers = await call(api, "POST", BASE, home["scheduler"], json=body)
    assert status == 201, created
    assert headers["Location"] == f"{BASE}/{created['id']}"
    assert (created["name"], created["aircraft_id"], created["interval_type"]) == (
        "C-check",
        str(aircraft_id),
        "flight_hours",
    )
    assert (created["interval_value"], created["last_performed_usage"], created["version"]) == (600, 1200, 1)
    assert created["last_performed"] == "2026-01-10T08:00:00Z"
    status, read, _ = await call(api, "GET", headers["Location"], home["auditor"])
    assert (status, read) == (200, created)
    [row] = await audit_rows(conn, created["id"])
    assert (row["action"], row["entity_version"], row["user_id"]) == ("create", 1, home["scheduler"].user_id)
    assert row["details"]["interval_value"] == 600


async def test_template_has_no_aircraft(api: ApiClient, home: Tenant) -> None:
    created = await create(api, home["admin"])
    assert created["aircraft_id"] is None and created["last_performed"] is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"interval_value": 0}, "interval_value"),
        ({"interval_value": -3}, "interval_value"),
        ({"interval_value": 36_501}, "interval_value"),
        ({"interval_type": "weekly"}, "interval_type"),
        ({"name": "   "}, "name"),
        ({"last_performed": (datetime.now(UTC) + timedelta(days=2)).isoformat()}, "last_performed"),
        ({"last_performed": "2026-01-10T10:00:00"}, "last_performed"),
        ({"last_performed_usage": -1}, "last_performed_usage"),
        ({"aircraft_id": str(uuid.uuid4())}, "aircraft_id"),
        ({"unknown": 1}, "unknown"),
    ],
)
async def test_create_validation(api: ApiClient, home: Tenant, fields: dict[str, Any], field: str) -> None:
    body = {"name": f"p-{short_id()}", "interval_type": "calendar", "interval_value": 30, **fields}
    status, error, _ = await call(api, "POST", BASE, home["scheduler"], json=body)
    assert status == 400, error
    assert error["code"] == "VALIDATION_ERROR"
    assert field in error["details"]["fields"], error


async def test_aircraft_of_another_org_is_refused(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, other_tenant: Tenant
) -> None:
    foreign = await make_aircraft(conn, other_tenant.org_id)
    status, error, _ = await call(
        api,
        "POST",
        BASE,
        home["scheduler"],
        json={"name": "x", "interval_type": "cycles", "interval_value": 5, "aircraft_id": str(foreign)},
    )
    assert (status, error["details"]["fields"]) == (400, {"aircraft_id": "does not exist in this organization"})


async def test_name_is_unique_per_aircraft_among_live_programs(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    aircraft_id = str(await make_aircraft(conn, home.org_id))
    first = await create(api, home["scheduler"], name="A-check", aircraft_id=aircraft_id)
    body = {"name": "A-check", "interval_type": "calendar", "interval_value": 10, "aircraft_id": aircraft_id}
    status, error, _ = await call(api, "POST", BASE, home["scheduler"], json=body)
    assert (status, error["code"]) == (409, "CONFLICT")
    # another aircraft, or the templates, may use the name
    await create(api, home["scheduler"], name="A-check", aircraft_id=str(await make_aircraft(conn, home.org_id)))
    await create(api, home["scheduler"], name="A-check")
    # after the delete the name is free again
    status, _, _ = await call(api, "DELETE", f"{BASE}/{first['id']}", home["scheduler"])
    assert status == 204
    status, _, _ = await call(api, "POST", BASE, home["scheduler"], json=body)
    assert status == 201


async def test_list_filters_and_sorts(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    aircraft_id = str(await make_aircraft(conn, home.org_id))
    names = ["b-prog", "a-prog", "c-prog"]
    created = [
        await create(api, home["scheduler"], name=name, aircraft_id=aircraft_id, interval_type=kind)
        for name, kind in zip(names, ["calendar", "cycles", "calendar"], strict=True)
    ]
    template = await create(api, home["scheduler"])
    status, page, _ = await call(api, "GET", f"{BASE}?aircraft_id={aircraft_id}&sort=name", home["auditor"])
    assert status == 200
    assert [item["name"] for item in page["items"]] == sorted(names)
    status, page, _ = await call(
        api, "GET", f"{BASE}?aircraft_id={aircraft_id}&interval_type=calendar&sort=-created_at", home["auditor"]
    )
    assert [item["id"] for item in page["items"]] == [created[2]["id"], created[0]["id"]]
    status, page, _ = await call(api, "GET", f"{BASE}?limit=200", home["admin"])
    assert template["id"] in {item["id"] for item in page["items"]}
    status, _, _ = await call(api, "GET", f"{BASE}?interval_type=weekly", home["auditor"])
    assert status == 400


async def test_patch_with_if_match_and_audit(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    created = await create(api, home["scheduler"])
    path = f"{BASE}/{created['id']}"
    performed = "2026-02-01T00:00:00Z"
    status, updated, _ = await call(
        api,
        "PATCH",
        path,
        home["scheduler"],
        json={"interval_value": 45, "last_performed": performed, "name": "renamed"},
        headers={"If-Match": '"1"'},
    )
    assert status == 200, updated
    assert (updated["interval_value"], updated["last_performed"], updated["name"], updated["version"]) == (
        45,
        performed,
        "renamed",
        2,
    )
    status, error, _ = await call(
        api, "PATCH", path, home["scheduler"], json={"interval_value": 50}, headers={"If-Match": '"1"'}
    )
    assert status in (409, 412), error
    status, error, _ = await call(api, "PATCH", path, home["scheduler"], json={"interval_value": 0})
    assert status == 400
    status, error, _ = await call(api, "PATCH", path, home["scheduler"], json={"interval_type": "cycles"})
    assert status == 400
    status, error, _ = await call(api, "PATCH", path, home["scheduler"], json={"name": None})
    assert status == 400
    # an empty change changes nothing
    status, same, _ = await call(api, "PATCH", path, home["scheduler"], json={"interval_value": 45})
    assert (status, same["version"]) == (200, 2)
    rows = await audit_rows(conn, created["id"])
    assert [(row["action"], row["entity_version"]) for row in rows] == [("create", 1), ("update", 2)]
    assert rows[1]["details"]["changes"]["interval_value"] == {"from": 30, "to": 45}


async def test_delete_is_soft(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    created = await create(api, home["admin"])
    path = f"{BASE}/{created['id']}"
    status, _, _ = await call(api, "DELETE", path, home["admin"], headers={"If-Match": '"1"'})
    assert status == 204
    status, _, _ = await call(api, "GET", path, home["admin"])
    assert status == 404
    assert await conn.fetchval(
        "SELECT deleted_at IS NOT NULL FROM maintenance_programs WHERE id = $1", uuid.UUID(created["id"])
    )
    rows = await audit_rows(conn, created["id"])
    assert [row["action"] for row in rows] == ["create", "delete"]
    status, _, _ = await call(api, "DELETE", path, home["admin"])
    assert status == 404


@pytest.mark.parametrize("role", ["mechanic", "auditor", "tenant_admin"])
async def test_only_scheduler_and_admin_write(api: ApiClient, home: Tenant, role: str) -> None:
    body = {"name": "x", "interval_type": "calendar", "interval_value": 3}
    status, error, _ = await call(api, "POST", BASE, home[role], json=body)
    assert (status, error["code"]) == (403, "FORBIDDEN")
