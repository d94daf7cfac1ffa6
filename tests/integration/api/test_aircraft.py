"""Aircraft over HTTP: create, read, list, update and delete, every validation error, uniqueness, If-Match, roles.

Each mutation is shown to leave exactly one audit row. Status changes, usage and the outbox are
in test_aircraft_status_and_usage.py.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import orjson
import pytest

from amss.api.rest.handlers.aircraft import AircraftOut
from amss.app.aircraft.views import aircraft_view
from amss.domain.aircraft import Aircraft
from amss.domain.enums import AircraftStatus, Role
from tests.api_support import Tenant, call
from tests.clients import ApiClient
from tests.integration.api.aircraft_support import audit_rows, create, fields_of, raw, status_events, tail
from tests.integration.api.route_samples import code_of, raise_rate_limits
from tests.integration.factories import make_task, soon, utc


@pytest.fixture
async def home(conn: asyncpg.Connection, tenant: Tenant) -> Tenant:
    await raise_rate_limits(conn, tenant.org_id)
    return tenant


# --- create and read ------------------------------------------------------------------------------


async def test_create_answers_201_with_location_defaults_and_utc_timestamps(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    tail_number = tail()
    body = {
        "tail_number": f"  {tail_number} ",
        "model": "A320neo",
        "last_maintenance": "2026-01-10T10:00:00+02:00",
        "next_due": "2026-07-10T10:30:00.250000-05:00",
    }
    status, created, headers = await call(api, "POST", "/api/v1/aircraft", home["scheduler"], json=body)
    assert status == 201, created
    assert headers["Location"] == f"/api/v1/aircraft/{created['id']}"
    assert created["tail_number"] == tail_number
    assert created["org_id"] == str(home.org_id)
    assert (created["status"], created["capacity_slots"], created["version"]) == ("operational", 1, 1)
    assert (created["flight_hours_total"], created["cycles_total"]) == (0, 0)
    assert created["last_maintenance"] == "2026-01-10T08:00:00Z"
    assert created["next_due"] == "2026-07-10T15:30:00.250000Z"
    assert created["created_at"].endswith("Z") and created["updated_at"].endswith("Z")

    status, read, _ = await call(api, "GET", headers["Location"], home["auditor"])
    assert (status, read) == (200, created)

    [row] = await audit_rows(conn, created["id"])
    assert (row["action"], row["entity_version"], row["user_id"]) == ("create", 1, home["scheduler"].user_id)
    assert row["request_id"] is not None
    assert row["details"]["tail_number"] == tail_number
    assert row["details"]["next_due"] == "2026-07-10T15:30:00.250000Z"
    assert await status_events(conn, created["id"]) == []


async def test_create_with_every_field(api: ApiClient, home: Tenant) -> None:
    created = await create(api, home["mechanic"], status="grounded", capacity_slots=3, model="ATR 72")
    assert (created["status"], created["capacity_slots"], created["model"]) == ("grounded", 3, "ATR 72")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"model": "A320"}, "tail_number"),
        ({"tail_number": "   ", "model": "A320"}, "tail_number"),
        ({"tail_number": "", "model": "A320"}, "tail_number"),
        ({"tail_number": "N" * 33, "model": "A320"}, "tail_number"),
        ({"tail_number": "N1"}, "model"),
        ({"tail_number": "N1", "model": "  "}, "model"),
        ({"tail_number": 42, "model": "A320"}, "tail_number"),
        ({"tail_number": "N1", "model": "A320", "capacity_slots": 0}, "capacity_slots"),
        ({"tail_number": "N1", "model": "A320", "capacity_slots": -2}, "capacity_slots"),
        ({"tail_number": "N1", "model": "A320", "capacity_slots": "2"}, "capacity_slots"),
        ({"tail_number": "N1", "model": "A320", "capacity_slots": 1.5}, "capacity_slots"),
        ({"tail_number": "N1", "model": "A320", "status": "flying"}, "status"),
        ({"tail_number": "N1", "model": "A320", "last_maintenance": "2026-01-10T10:00:00"}, "last_maintenance"),
        ({"tail_number": "N1", "model": "A320", "next_due": "2026-01-10"}, "next_due"),
        ({"tail_number": "N1", "model": "A320", "next_due": "next tuesday"}, "next_due"),
        (
            {
                "tail_number": "N1",
                "model": "A320",
                "last_maintenance": "2026-01-10T10:00:00Z",
                "next_due": "2026-01-10T12:00:00+02:00",
            },
            "next_due",
        ),
        (
            {
                "tail_number": "N1",
                "model": "A320",
                "last_maintenance": "2026-01-10T10:00:00Z",
                "next_due": "2026-01-09T10:00:00Z",
            },
            "next_due",
        ),
        ({"tail_number": "N1", "model": "A320", "flight_hours_total": 5}, "flight_hours_total"),
        ({"tail_number": "N1", "model": "A320", "org_id": str(uuid.uuid4())}, "org_id"),
    ],
)
async def test_invalid_create_is_400_naming_the_field(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, body: dict[str, Any], field: str
) -> None:
    before = await conn.fetchval("SELECT count(*) FROM aircraft WHERE org_id = $1", home.org_id)
    status, error, _ = await call(api, "POST", "/api/v1/aircraft", home["scheduler"], json=body)
    assert status == 400, error
    assert field in fields_of(error), error
    assert await conn.fetchval("SELECT count(*) FROM aircraft WHERE org_id = $1", home.org_id) == before


async def test_malformed_or_non_json_bodies_are_refused(api: ApiClient, home: Tenant) -> None:
    status, error, _ = await call(api, "POST", "/api/v1/aircraft", home["scheduler"], data="{not json")
    assert status == 415, error
    headers = {"Content-Type": "application/json"}
    status, error, _ = await call(api, "POST", "/api/v1/aircraft", home["scheduler"], data="{", headers=headers)
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), error


async def test_unknown_or_malformed_ids_are_404(api: ApiClient, home: Tenant) -> None:
    for path in (f"/api/v1/aircraft/{uuid.uuid4()}", "/api/v1/aircraft/not-an-id"):
        status, error, _ = await call(api, "GET", path, home["auditor"])
        assert (status, code_of(error)) == (404, "NOT_FOUND"), error


async def test_the_documented_model_is_exactly_what_is_rendered(api: ApiClient, home: Tenant) -> None:
    created = await create(api, home["scheduler"], last_maintenance="2026-01-10T10:00:00Z")
    AircraftOut.model_validate_json(orjson.dumps(created), strict=True)
    assert set(created) == set(AircraftOut.model_fields)
    # every field given (None where the view does not care), so a new field cannot be left out of the view
    fields: dict[str, Any] = dict.fromkeys(Aircraft.__dataclass_fields__)
    sample = Aircraft(**{**fields, "status": AircraftStatus.GROUNDED, "id": uuid.uuid4(), "org_id": uuid.uuid4()})
    assert set(aircraft_view(sample)) == set(AircraftOut.model_fields)


# --- uniqueness -------------------------------------------------------------------------------------


async def test_duplicate_tail_number_is_409_and_free_again_after_delete(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, other_tenant: Tenant
) -> None:
    first = await create(api, home["scheduler"])
    tail_number = first["tail_number"]
    body = {"tail_number": tail_number, "model": "B737"}
    status, error, _ = await call(api, "POST", "/api/v1/aircraft", home["mechanic"], json=body)
    assert (status, code_of(error)) == (409, "CONFLICT"), error
    assert error["details"] == {"field": "tail_number"}
    count = "SELECT count(*) FROM aircraft WHERE org_id = $1 AND tail_number = $2"
    assert await conn.fetchval(count, home.org_id, tail_number) == 1

    # another organization may use the same tail number
    await raise_rate_limits(conn, other_tenant.org_id)
    status, elsewhere, _ = await call(api, "POST", "/api/v1/aircraft", other_tenant["scheduler"], json=body)
    assert status == 201, elsewhere

    # a rename onto a taken tail number is refused the same way
    second = await create(api, home["scheduler"])
    path = f"/api/v1/aircraft/{second['id']}"
    status, error, _ = await call(api, "PATCH", path, home["scheduler"], json={"tail_number": tail_number})
    assert (status, code_of(error), error.get("details")) == (409, "CONFLICT", {"field": "tail_number"}), error

    status, _, _ = await call(api, "DELETE", f"/api/v1/aircraft/{first['id']}", home["scheduler"])
    assert status == 204
    status, reused, _ = await call(api, "POST", "/api/v1/aircraft", home["mechanic"], json=body)
    assert status == 201, reused
    assert reused["id"] != first["id"]
    assert await conn.fetchval(count, home.org_id, tail_number) == 2


# --- list -------------------------------------------------------------------------------------------


async def test_list_filters_sorts_and_pages(api: ApiClient, home: Tenant) -> None:
    model = f"model-{uuid.uuid4().hex[:6]}"
    made = [
        await create(api, home["scheduler"], model=model, tail_number=f"Z{n}-{uuid.uuid4().hex[:6]}") for n in range(5)
    ]
    await create(api, home["scheduler"], model=model, status="grounded")
    by_tail = sorted(made, key=lambda item: item["tail_number"])

    seen: list[str] = []
    path = f"/api/v1/aircraft?model={model}&status=operational&sort=tail_number&limit=2"
    cursor: str | None = ""
    while cursor is not None:
        status, page, _ = await call(api, "GET", path + (f"&cursor={cursor}" if cursor else ""), home["auditor"])
        assert status == 200, page
        assert len(page["items"]) <= 2
        seen += [item["tail_number"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert seen == [item["tail_number"] for item in by_tail]

    status, page, _ = await call(api, "GET", f"/api/v1/aircraft?model={model}&sort=-created_at", home["tenant_admin"])
    assert status == 200, page
    assert len(page["items"]) == 6 and page["next_cursor"] is None
    created_at = [item["created_at"] for item in page["items"]]
    assert created_at == sorted(created_at, reverse=True)

    status, page, _ = await call(api, "GET", f"/api/v1/aircraft?model={model}&status=grounded", home["mechanic"])
    assert [item["status"] for item in page["items"]] == ["grounded"]
    target = made[2]
    status, page, _ = await call(api, "GET", f"/api/v1/aircraft?tail_number={target['tail_number']}", home["auditor"])
    assert [item["id"] for item in page["items"]] == [target["id"]]

    # what a page shows is exactly what GET of the object shows
    status, page, _ = await call(api, "GET", f"/api/v1/aircraft?tail_number={target['tail_number']}", home["auditor"])
    status, one, _ = await call(api, "GET", f"/api/v1/aircraft/{target['id']}", home["auditor"])
    assert page["items"] == [one]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("status=flying", "status"),
        ("sort=next_due", "sort"),
        ("sort=-last_maintenance", "sort"),
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("color=red", "color"),
        ("cursor=garbage", "cursor"),
    ],
)
async def test_bad_list_parameters_are_400(api: ApiClient, home: Tenant, query: str, field: str) -> None:
    status, error, _ = await call(api, "GET", f"/api/v1/aircraft?{query}", home["auditor"])
    assert status == 400, error
    assert field in fields_of(error), error


async def test_deleted_aircraft_are_not_listed(api: ApiClient, home: Tenant) -> None:
    gone = await create(api, home["scheduler"])
    status, _, _ = await call(api, "DELETE", f"/api/v1/aircraft/{gone['id']}", home["scheduler"])
    assert status == 204
    status, page, _ = await call(api, "GET", f"/api/v1/aircraft?tail_number={gone['tail_number']}", home["auditor"])
    assert (status, page["items"]) == (200, [])


# --- update -----------------------------------------------------------------------------------------


async def test_update_changes_fields_bumps_version_and_audits_once(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    created = await create(api, home["scheduler"], last_maintenance="2026-01-10T10:00:00Z")
    path = f"/api/v1/aircraft/{created['id']}"
    change = {"model": "A321", "capacity_slots": 2, "next_due": "2026-06-01T12:00:00+02:00"}
    status, body = await raw(api, "PATCH", path, home["mechanic"], json=change)
    assert status == 200, body
    updated = orjson.loads(body)
    assert (updated["model"], updated["capacity_slots"], updated["next_due"]) == ("A321", 2, "2026-06-01T10:00:00Z")
    assert updated["version"] == created["version"] + 1
    assert updated["updated_at"] >= created["updated_at"]

    # the command's answer is byte for byte what a read gives, and what the command row stored
    assert await raw(api, "GET", path, home["auditor"]) == (200, body)
    stored = await conn.fetchval(
        "SELECT outcome_view::text FROM commands WHERE org_id = $1 AND actor = $2 AND type = 'aircraft.update'",
        home.org_id,
        f"aircraft:{home.org_id}:{created['id']}",
    )
    assert stored == body.decode()

    rows = await audit_rows(conn, created["id"])
    assert [row["action"] for row in rows] == ["create", "update"]
    update = rows[1]
    assert (update["entity_version"], update["user_id"]) == (2, home["mechanic"].user_id)
    assert update["details"]["changes"] == {
        "capacity_slots": {"from": 1, "to": 2},
        "model": {"from": "A320", "to": "A321"},
        "next_due": {"from": None, "to": "2026-06-01T10:00:00Z"},
    }
    assert await status_events(conn, created["id"]) == []


async def test_a_patch_that_changes_nothing_writes_nothing(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    created = await create(api, home["scheduler"])
    path = f"/api/v1/aircraft/{created['id']}"
    for change in ({}, {"model": created["model"]}, {"status": "operational"}, {"next_due": None}):
        status, same, _ = await call(api, "PATCH", path, home["scheduler"], json=change)
        assert (status, same) == (200, created), change
    assert [row["action"] for row in await audit_rows(conn, created["id"])] == ["create"]


async def test_clearing_dates_with_null(api: ApiClient, home: Tenant) -> None:
    created = await create(
        api, home["scheduler"], last_maintenance="2026-01-10T10:00:00Z", next_due="2026-06-10T10:00:00Z"
    )
    path = f"/api/v1/aircraft/{created['id']}"
    status, updated, _ = await call(api, "PATCH", path, home["scheduler"], json={"next_due": None})
    assert status == 200, updated
    assert (updated["last_maintenance"], updated["next_due"]) == ("2026-01-10T10:00:00Z", None)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tail_number": None}, "tail_number"),
        ({"tail_number": "  "}, "tail_number"),
        ({"model": None}, "model"),
        ({"status": None}, "status"),
        ({"status": "scrapped"}, "status"),
        ({"capacity_slots": None}, "capacity_slots"),
        ({"capacity_slots": 0}, "capacity_slots"),
        ({"capacity_slots": True}, "capacity_slots"),
        ({"next_due": "2026-01-10T10:00:00"}, "next_due"),
        # before the aircraft's current last_maintenance (2026-01-10T10:00Z): checked against the row
        ({"next_due": "2026-01-09T10:00:00Z"}, "next_due"),
        ({"last_maintenance": "2026-07-01T00:00:00Z"}, "next_due"),
        ({"last_maintenance": "2026-02-01T00:00:00Z", "next_due": "2026-01-01T00:00:00Z"}, "next_due"),
        ({"cycles_total": 3}, "cycles_total"),
        ({"version": 9}, "version"),
    ],
)
async def test_invalid_update_is_400_naming_the_field_and_changes_nothing(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, change: dict[str, Any], field: str
) -> None:
    created = await create(
        api, home["scheduler"], last_maintenance="2026-01-10T10:00:00Z", next_due="2026-06-10T10:00:00Z"
    )
    path = f"/api/v1/aircraft/{created['id']}"
    status, error, _ = await call(api, "PATCH", path, home["scheduler"], json=change)
    assert status == 400, error
    assert field in fields_of(error), error
    status, after, _ = await call(api, "GET", path, home["auditor"])
    assert after == created
    assert len(await audit_rows(conn, created["id"])) == 1


async def test_if_match_guards_update_and_delete(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    created = await create(api, home["scheduler"])
    path = f"/api/v1/aircraft/{created['id']}"
    status, updated, _ = await call(
        api, "PATCH", path, home["scheduler"], json={"model": "A319"}, headers={"If-Match": '"1"'}
    )
    assert (status, updated["version"]) == (200, 2), updated

    for method, json in (("PATCH", {"model": "A318"}), ("DELETE", None)):
        status, error, _ = await call(api, method, path, home["scheduler"], json=json, headers={"If-Match": '"1"'})
        assert (status, code_of(error)) == (412, "PRECONDITION_FAILED"), error
        assert error["details"] == {"current_version": 2}
    status, error, _ = await call(api, "PATCH", path, home["scheduler"], json={}, headers={"If-Match": "latest"})
    assert status == 400 and "If-Match" in fields_of(error)

    status, after, _ = await call(api, "GET", path, home["auditor"])
    assert after == updated
    assert [row["action"] for row in await audit_rows(conn, created["id"])] == ["create", "update"]

    status, _, _ = await call(api, "DELETE", path, home["scheduler"], headers={"If-Match": 'W/"2"'})
    assert status == 204


# --- delete -----------------------------------------------------------------------------------------


async def test_delete_is_soft_audited_and_hides_the_aircraft(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    created = await create(api, home["mechanic"])
    path = f"/api/v1/aircraft/{created['id']}"
    status, body = await raw(api, "DELETE", path, home["mechanic"])
    assert (status, body) == (204, b"")
    row = await conn.fetchrow("SELECT deleted_at, version FROM aircraft WHERE id = $1", uuid.UUID(created["id"]))
    assert row is not None and row["deleted_at"] is not None and row["version"] == 2
    rows = await audit_rows(conn, created["id"])
    assert [(r["action"], r["entity_version"]) for r in rows] == [("create", 1), ("delete", 2)]
    assert rows[1]["details"] == {"tail_number": created["tail_number"]}

    for method, json in (("GET", None), ("PATCH", {"model": "X"}), ("DELETE", None)):
        status, error, _ = await call(api, method, path, home["scheduler"], json=json)
        assert (status, code_of(error)) == (404, "NOT_FOUND"), (method, error)
    status, error, _ = await call(api, "POST", f"{path}/usage", home["scheduler"], json={"cycles": 1})
    assert (status, code_of(error)) == (404, "NOT_FOUND"), error

    # the command row stored the empty 204 answer as no body
    stored = await conn.fetchrow(
        "SELECT status::text AS status, outcome_view::text AS body FROM commands"
        " WHERE actor = $1 AND type = 'aircraft.delete' AND status = 'succeeded'",
        f"aircraft:{home.org_id}:{created['id']}",
    )
    assert stored is not None and (stored["status"], stored["body"]) == ("succeeded", None)


@pytest.mark.parametrize("state", ["scheduled", "in_progress"])
async def test_an_aircraft_with_active_tasks_cannot_be_deleted(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, state: str
) -> None:
    created = await create(api, home["scheduler"], status="grounded")
    aircraft_id = uuid.UUID(created["id"])
    task_id = await make_task(conn, home.org_id, aircraft_id, soon(-1), soon(2), state=state)
    status, error, _ = await call(api, "DELETE", f"/api/v1/aircraft/{aircraft_id}", home["scheduler"])
    assert (status, code_of(error)) == (409, "CONFLICT"), error
    assert error["details"] == {"task_ids": [str(task_id)]}
    assert await conn.fetchval("SELECT deleted_at FROM aircraft WHERE id = $1", aircraft_id) is None
    assert len(await audit_rows(conn, aircraft_id)) == 1


async def test_finished_or_deleted_tasks_do_not_block_deletion(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    created = await create(api, home["scheduler"])
    aircraft_id = uuid.UUID(created["id"])
    start = utc(2026, 1, 1, 8)
    for hours, state, deleted in ((0, "completed", False), (4, "cancelled", False), (8, "scheduled", True)):
        begin = start + timedelta(hours=hours)
        await make_task(
            conn,
            home.org_id,
            aircraft_id,
            begin,
            begin + timedelta(hours=2),
            state=state,
            deleted_at=begin if deleted else None,
        )
    status, body, _ = await call(api, "DELETE", f"/api/v1/aircraft/{aircraft_id}", home["scheduler"])
    assert status == 204, body


# --- roles ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.TENANT_ADMIN])
async def test_readers_cannot_write(api: ApiClient, conn: asyncpg.Connection, home: Tenant, role: Role) -> None:
    created = await create(api, home["scheduler"])
    path = f"/api/v1/aircraft/{created['id']}"
    requests: list[tuple[str, str, Any]] = [
        ("POST", "/api/v1/aircraft", {"tail_number": tail(), "model": "A320"}),
        ("PATCH", path, {"model": "A321"}),
        ("PATCH", path, {"status": "grounded"}),
        ("POST", f"{path}/usage", {"flight_hours": 1}),
        ("DELETE", path, None),
    ]
    for method, target, json in requests:
        status, error, _ = await call(api, method, target, home[role], json=json)
        assert (status, code_of(error)) == (403, "FORBIDDEN"), (method, target, error)
    status, after, _ = await call(api, "GET", path, home[role])
    assert (status, after) == (200, created)
    assert len(await audit_rows(conn, created["id"])) == 1


async def test_admin_acting_for_a_tenant_is_recorded_as_an_outside_actor(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, other_tenant: Tenant
) -> None:
    await raise_rate_limits(conn, other_tenant.org_id)
    admin = other_tenant["admin"]
    acting = {"X-Org-ID": str(home.org_id)}
    status, created, _ = await call(
        api, "POST", "/api/v1/aircraft", admin, json={"tail_number": tail(), "model": "E190"}, headers=acting
    )
    assert (status, created["org_id"]) == (201, str(home.org_id)), created
    path = f"/api/v1/aircraft/{created['id']}"
    status, updated, _ = await call(api, "PATCH", path, admin, json={"status": "maintenance"}, headers=acting)
    assert (status, updated["status"]) == (200, "maintenance"), updated
    outside = {"user_id": str(admin.user_id), "org_id": str(other_tenant.org_id), "role": "admin"}
    rows = await audit_rows(conn, created["id"])
    assert [(row["action"], row["user_id"], row["details"]["actor"]) for row in rows] == [
        ("create", None, outside),
        ("state_change", None, outside),
    ]
    # without X-Org-ID the admin is in its own organization, where the aircraft does not exist
    status, error, _ = await call(api, "GET", path, admin)
    assert (status, code_of(error)) == (404, "NOT_FOUND"), error


# --- idempotency ------------------------------------------------------------------------------------


async def test_create_with_an_idempotency_key_creates_once_and_replays_the_bytes(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    body = {"tail_number": tail(), "model": "A350"}
    key = {"Idempotency-Key": f"aircraft-{uuid.uuid4()}"}
    first = await raw(api, "POST", "/api/v1/aircraft", home["scheduler"], json=body, headers=key)
    second = await raw(api, "POST", "/api/v1/aircraft", home["scheduler"], json=body, headers=key)
    assert first[0] == 201 and first == second
    count = "SELECT count(*) FROM aircraft WHERE org_id = $1 AND tail_number = $2"
    assert await conn.fetchval(count, home.org_id, body["tail_number"]) == 1
