"""Aircraft status over HTTP (explicit changes, refused ones, the outbox event) and usage ingestion.

Every status change leaves one `state_change` audit row and one `aircraft_status_updated` event
with the dedupe key `aircraft_status_updated:{org_id}:{aircraft_id}:{new_status}:{version}`;
a refused one leaves nothing. Usage adds to the counters, concurrent reports included.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import orjson
import pytest

from amss.domain.aircraft import MAX_COUNTER, TRANSITIONS
from amss.domain.enums import AircraftStatus, Role
from tests.api_support import Tenant, call
from tests.clients import ApiClient
from tests.integration.api.aircraft_support import audit_rows, create, fields_of, raw, status_events
from tests.integration.api.route_samples import code_of, raise_rate_limits
from tests.integration.factories import make_task, make_user, soon

EXPLICIT = [(current, target, role) for current, target in TRANSITIONS for role in ("scheduler", "mechanic", "admin")]


@pytest.fixture
async def home(conn: asyncpg.Connection, tenant: Tenant) -> Tenant:
    await raise_rate_limits(conn, tenant.org_id)
    return tenant


def expected_key(org_id: uuid.UUID, aircraft_id: str, status: str, version: int) -> str:
    return f"aircraft_status_updated:{org_id}:{aircraft_id}:{status}:{version}"


# --- explicit status changes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "target", "role"), EXPLICIT, ids=[f"{c.value}-{t.value}-{r}" for c, t, r in EXPLICIT]
)
async def test_every_explicit_status_change_is_audited_once_and_announced_once(
    api: ApiClient,
    conn: asyncpg.Connection,
    home: Tenant,
    current: AircraftStatus,
    target: AircraftStatus,
    role: str,
) -> None:
    created = await create(api, home["scheduler"], status=current.value)
    path = f"/api/v1/aircraft/{created['id']}"
    status, body = await raw(api, "PATCH", path, home[role], json={"status": target.value})
    assert status == 200, body
    updated = orjson.loads(body)
    assert (updated["status"], updated["version"]) == (target.value, 2)
    assert await raw(api, "GET", path, home["auditor"]) == (200, body)

    rows = await audit_rows(conn, created["id"])
    assert [(row["action"], row["entity_version"]) for row in rows] == [("create", 1), ("state_change", 2)]
    assert rows[1]["user_id"] == home[role].user_id
    changes: dict[str, Any] = {"status": {"from": current.value, "to": target.value}}
    # a person's grounding is recorded as theirs (grounded_by manual) and cleared on leaving grounded
    origin_before, origin_after = (
        "manual" if status is AircraftStatus.GROUNDED else None for status in (current, target)
    )
    if origin_before != origin_after:
        changes["grounded_by"] = {"from": origin_before, "to": origin_after}
    assert rows[1]["details"] == {"changes": changes}

    [event] = await status_events(conn, created["id"])
    assert (event["event_type"], event["aggregate_type"]) == ("aircraft_status_updated", "aircraft")
    assert event["dedupe_key"] == expected_key(home.org_id, created["id"], target.value, 2)
    payload = event["payload"]
    assert payload["version"] == 1
    assert (payload["event_type"], payload["org_id"], payload["aircraft_id"]) == (
        "aircraft_status_updated",
        str(home.org_id),
        created["id"],
    )
    assert payload["occurred_at"] == updated["updated_at"]
    assert payload["data"] == {
        "from": current.value,
        "to": target.value,
        "tail_number": created["tail_number"],
        "version": 2,
        "updated_at": updated["updated_at"],
    }
    uuid.UUID(payload["event_id"])


async def test_successive_changes_have_their_own_events(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    created = await create(api, home["scheduler"])
    path = f"/api/v1/aircraft/{created['id']}"
    for target in ("grounded", "operational", "grounded"):
        status, body, _ = await call(api, "PATCH", path, home["mechanic"], json={"status": target})
        assert status == 200, body
    keys = [event["dedupe_key"] for event in await status_events(conn, created["id"])]
    assert sorted(keys) == sorted(
        [
            expected_key(home.org_id, created["id"], "grounded", 2),
            expected_key(home.org_id, created["id"], "operational", 3),
            expected_key(home.org_id, created["id"], "grounded", 4),
        ]
    )
    assert [row["action"] for row in await audit_rows(conn, created["id"])] == ["create"] + ["state_change"] * 3


async def test_status_and_fields_in_one_patch_are_one_state_change(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    created = await create(api, home["scheduler"])
    path = f"/api/v1/aircraft/{created['id']}"
    status, updated, _ = await call(
        api, "PATCH", path, home["scheduler"], json={"status": "maintenance", "capacity_slots": 4}
    )
    assert (status, updated["status"], updated["capacity_slots"], updated["version"]) == (200, "maintenance", 4, 2)
    rows = await audit_rows(conn, created["id"])
    assert [row["action"] for row in rows] == ["create", "state_change"]
    assert rows[1]["details"]["changes"] == {
        "capacity_slots": {"from": 1, "to": 4},
        "status": {"from": "operational", "to": "maintenance"},
    }
    assert [event["dedupe_key"] for event in await status_events(conn, created["id"])] == [
        expected_key(home.org_id, created["id"], "maintenance", 2)
    ]


@pytest.mark.parametrize("current", ["grounded", "maintenance"])
async def test_no_return_to_operational_while_a_task_is_in_progress(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, current: str
) -> None:
    created = await create(api, home["scheduler"], status=current)
    mechanic = await make_user(conn, home.org_id, Role.MECHANIC.value)
    task_id = await make_task(
        conn,
        home.org_id,
        uuid.UUID(created["id"]),
        soon(-1),
        soon(3),
        state="in_progress",
        assigned_mechanic_id=mechanic,
    )
    path = f"/api/v1/aircraft/{created['id']}"
    for role in ("scheduler", "mechanic", "admin"):
        status, error, _ = await call(
            api, "PATCH", path, home[role], json={"status": "operational", "model": "changed too"}
        )
        assert (status, code_of(error)) == (409, "CONFLICT"), error
        assert error["details"] == {"current_state": current, "target_state": "operational", "rule": "task_in_progress"}
        assert str(task_id) in error["error"]
    status, after, _ = await call(api, "GET", path, home["auditor"])
    assert after == created
    assert len(await audit_rows(conn, created["id"])) == 1
    assert await status_events(conn, created["id"]) == []

    # the task finishing frees the aircraft
    await conn.execute("UPDATE maintenance_tasks SET state = 'completed' WHERE id = $1", task_id)
    status, released, _ = await call(api, "PATCH", path, home["mechanic"], json={"status": "operational"})
    assert (status, released["status"]) == (200, "operational"), released


async def test_other_changes_are_allowed_while_a_task_is_in_progress(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    created = await create(api, home["scheduler"], status="grounded")
    await make_task(conn, home.org_id, uuid.UUID(created["id"]), soon(-1), soon(3), state="in_progress")
    path = f"/api/v1/aircraft/{created['id']}"
    status, updated, _ = await call(api, "PATCH", path, home["scheduler"], json={"status": "maintenance"})
    assert (status, updated["status"]) == (200, "maintenance"), updated
    status, updated, _ = await call(api, "PATCH", path, home["scheduler"], json={"status": "grounded"})
    assert (status, updated["status"]) == (200, "grounded"), updated


async def test_a_confirmed_task_ahead_does_not_block_an_explicit_release(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    created = await create(api, home["scheduler"], status="grounded")
    mechanic = await make_user(conn, home.org_id, Role.MECHANIC.value)
    await make_task(conn, home.org_id, uuid.UUID(created["id"]), soon(1), soon(3), assigned_mechanic_id=mechanic)
    status, updated, _ = await call(
        api, "PATCH", f"/api/v1/aircraft/{created['id']}", home["scheduler"], json={"status": "operational"}
    )
    assert (status, updated["status"]) == (200, "operational"), updated


async def test_a_status_change_with_an_idempotency_key_happens_once(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    created = await create(api, home["scheduler"])
    path = f"/api/v1/aircraft/{created['id']}"
    key = {"Idempotency-Key": f"ground-{uuid.uuid4()}"}
    first = await raw(api, "PATCH", path, home["mechanic"], json={"status": "grounded"}, headers=key)
    second = await raw(api, "PATCH", path, home["mechanic"], json={"status": "grounded"}, headers=key)
    assert first[0] == 200 and first == second
    assert len(await status_events(conn, created["id"])) == 1
    status, error, _ = await call(api, "PATCH", path, home["mechanic"], json={"status": "maintenance"}, headers=key)
    assert (status, code_of(error)) == (409, "IDEMPOTENCY_KEY_REUSED"), error


# --- usage ------------------------------------------------------------------------------------------


async def test_usage_adds_to_the_counters_and_is_audited(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    created = await create(api, home["scheduler"])
    path = f"/api/v1/aircraft/{created['id']}"
    status, body = await raw(api, "POST", f"{path}/usage", home["mechanic"], json={"flight_hours": 5, "cycles": 2})
    assert status == 200, body
    flown = orjson.loads(body)
    assert (flown["flight_hours_total"], flown["cycles_total"], flown["version"]) == (5, 2, 2)
    assert await raw(api, "GET", path, home["auditor"]) == (200, body)

    status, flown, _ = await call(api, "POST", f"{path}/usage", home["scheduler"], json={"cycles": 3})
    assert (status, flown["flight_hours_total"], flown["cycles_total"], flown["version"]) == (200, 5, 5, 3)

    rows = await audit_rows(conn, created["id"])
    assert [row["action"] for row in rows] == ["create", "update", "update"]
    assert rows[1]["details"] == {
        "usage": {"flight_hours": 5, "cycles": 2},
        "changes": {"cycles_total": {"from": 0, "to": 2}, "flight_hours_total": {"from": 0, "to": 5}},
    }
    assert rows[2]["details"]["usage"] == {"flight_hours": 0, "cycles": 3}
    assert await status_events(conn, created["id"]) == []


async def test_usage_of_nothing_changes_and_records_nothing(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    created = await create(api, home["scheduler"])
    for report in ({"flight_hours": 0}, {"flight_hours": 0, "cycles": 0}):
        status, same, _ = await call(
            api, "POST", f"/api/v1/aircraft/{created['id']}/usage", home["mechanic"], json=report
        )
        assert (status, same) == (200, created)
    assert len(await audit_rows(conn, created["id"])) == 1


@pytest.mark.parametrize(
    ("report", "fields"),
    [
        ({}, {"flight_hours", "cycles"}),
        ({"flight_hours": -1}, {"flight_hours"}),
        ({"flight_hours": 2, "cycles": -3}, {"cycles"}),
        ({"cycles": None}, {"cycles"}),
        ({"flight_hours": 1.5}, {"flight_hours"}),
        ({"flight_hours": "3"}, {"flight_hours"}),
        ({"cycles": True}, {"cycles"}),
        ({"flight_hours": MAX_COUNTER + 1}, {"flight_hours"}),
        ({"flight_hours": 1, "minutes": 30}, {"minutes"}),
    ],
)
async def test_invalid_usage_is_400_naming_the_field(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, report: dict[str, Any], fields: set[str]
) -> None:
    created = await create(api, home["scheduler"])
    path = f"/api/v1/aircraft/{created['id']}"
    status, error, _ = await call(api, "POST", f"{path}/usage", home["mechanic"], json=report)
    assert status == 400, error
    assert set(fields_of(error)) == fields, error
    status, after, _ = await call(api, "GET", path, home["auditor"])
    assert after == created


async def test_usage_that_would_overflow_a_counter_is_400(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    created = await create(api, home["scheduler"])
    aircraft_id = uuid.UUID(created["id"])
    await conn.execute("UPDATE aircraft SET cycles_total = $2 WHERE id = $1", aircraft_id, MAX_COUNTER - 1)
    path = f"/api/v1/aircraft/{aircraft_id}/usage"
    status, error, _ = await call(api, "POST", path, home["mechanic"], json={"flight_hours": 1, "cycles": 2})
    assert status == 400, error
    assert set(fields_of(error)) == {"cycles"}
    status, flown, _ = await call(api, "POST", path, home["mechanic"], json={"cycles": 1})
    assert (status, flown["cycles_total"]) == (200, MAX_COUNTER)


async def test_twenty_concurrent_usage_reports_all_count(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    created = await create(api, home["scheduler"])
    path = f"/api/v1/aircraft/{created['id']}/usage"
    answers = await asyncio.gather(
        *(call(api, "POST", path, home["mechanic"], json={"flight_hours": 1, "cycles": 1}) for _ in range(20))
    )
    assert [status for status, _, _ in answers] == [200] * 20, answers
    assert sorted(body["version"] for _, body, _ in answers) == list(range(2, 22))
    row = await conn.fetchrow(
        "SELECT flight_hours_total, cycles_total, version FROM aircraft WHERE id = $1", uuid.UUID(created["id"])
    )
    assert row is not None and tuple(row) == (20, 20, 21)
    rows = await audit_rows(conn, created["id"])
    assert [row["entity_version"] for row in rows] == list(range(1, 22))


async def test_a_usage_report_with_an_idempotency_key_counts_once(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    created = await create(api, home["scheduler"])
    path = f"/api/v1/aircraft/{created['id']}/usage"
    key = {"Idempotency-Key": f"usage-{uuid.uuid4()}"}
    first = await raw(api, "POST", path, home["mechanic"], json={"flight_hours": 7}, headers=key)
    second = await raw(api, "POST", path, home["mechanic"], json={"flight_hours": 7}, headers=key)
    assert first[0] == 200 and first == second
    assert await conn.fetchval("SELECT flight_hours_total FROM aircraft WHERE id = $1", uuid.UUID(created["id"])) == 7
