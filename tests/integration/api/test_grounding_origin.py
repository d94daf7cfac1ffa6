"""Who grounded an aircraft decides who releases it: a person's grounding (a defect, say) outlives
every task; a grounding the system made for a task is released when the aircraft's tasks are done.

`grounded_by` is read-only in the aircraft view: `manual`, `task`, or null when not grounded.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest

from amss.infra.postgres.sql import fetch_one
from tests.api_support import Tenant, call
from tests.clients import ApiClient
from tests.integration.api.aircraft_support import create
from tests.integration.api.route_samples import code_of, raise_rate_limits
from tests.integration.api.task_support import transition
from tests.integration.factories import make_aircraft, make_task, soon

AIRCRAFT = "/api/v1/aircraft"
TASKS = "/api/v1/maintenance-tasks"


@pytest.fixture
async def home(conn: asyncpg.Connection, tenant: Tenant) -> Tenant:
    await raise_rate_limits(conn, tenant.org_id)
    return tenant


async def _aircraft(api: ApiClient, home: Tenant, aircraft_id: object) -> dict[str, Any]:
    status, body, _ = await call(api, "GET", f"{AIRCRAFT}/{aircraft_id}", home["auditor"])
    assert status == 200, body
    return dict(body)


async def _finish(api: ApiClient, conn: asyncpg.Connection, home: Tenant, aircraft_id: uuid.UUID, how: str) -> None:
    """An unrelated task of the aircraft is deleted, cancelled or completed through the API."""
    mechanic = home["mechanic"]
    if how == "completed":
        task_id = await make_task(
            conn,
            home.org_id,
            aircraft_id,
            soon(-3),
            soon(-1),
            state="in_progress",
            assigned_mechanic_id=mechanic.user_id,
            notes="work card 12",
        )
        status, body = await transition(api, mechanic, task_id, "completed")
        assert status == 200, body
        return
    task_id = await make_task(conn, home.org_id, aircraft_id, soon(72), soon(74))
    if how == "deleted":
        status, body, _ = await call(api, "DELETE", f"{TASKS}/{task_id}", home["scheduler"])
        assert status == 204, body
    else:
        status, body = await transition(api, home["scheduler"], task_id, "cancelled")
        assert status == 200, body


@pytest.mark.parametrize("how", ["deleted", "cancelled", "completed"])
async def test_a_manual_grounding_survives_an_unrelated_task_finishing(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, how: str
) -> None:
    created = await create(api, home["scheduler"])
    path = f"{AIRCRAFT}/{created['id']}"
    status, grounded, _ = await call(api, "PATCH", path, home["mechanic"], json={"status": "grounded"})
    assert status == 200, grounded
    assert (grounded["status"], grounded["grounded_by"], grounded["version"]) == ("grounded", "manual", 2)

    await _finish(api, conn, home, uuid.UUID(created["id"]), how)
    assert await _aircraft(api, home, created["id"]) == grounded

    # a person releases it, as before
    status, released, _ = await call(api, "PATCH", path, home["mechanic"], json={"status": "operational"})
    assert status == 200, released
    assert (released["status"], released["grounded_by"], released["version"]) == ("operational", None, 3)


@pytest.mark.parametrize("how", ["deleted", "cancelled", "completed"])
async def test_an_aircraft_created_grounded_was_grounded_by_a_person(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, how: str
) -> None:
    created = await create(api, home["scheduler"], status="grounded")
    assert (created["status"], created["grounded_by"]) == ("grounded", "manual")
    await _finish(api, conn, home, uuid.UUID(created["id"]), how)
    assert await _aircraft(api, home, created["id"]) == created


@pytest.mark.parametrize("how", ["deleted", "cancelled", "completed"])
async def test_a_grounding_the_system_made_for_a_task_is_released_as_before(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, how: str
) -> None:
    aircraft_id = await make_aircraft(conn, home.org_id, status="grounded", grounded_by="task")
    before = await _aircraft(api, home, aircraft_id)
    assert before["grounded_by"] == "task"
    await _finish(api, conn, home, aircraft_id, how)
    after = await _aircraft(api, home, aircraft_id)
    assert (after["status"], after["grounded_by"], after["version"]) == ("operational", None, before["version"] + 1)


async def test_a_person_grounding_an_aircraft_a_task_grounded_takes_it_over(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    aircraft_id = await make_aircraft(conn, home.org_id, status="grounded", grounded_by="task")
    path = f"{AIRCRAFT}/{aircraft_id}"
    status, taken, _ = await call(api, "PATCH", path, home["mechanic"], json={"status": "grounded"})
    assert status == 200, taken
    assert (taken["status"], taken["grounded_by"], taken["version"]) == ("grounded", "manual", 2)
    row = await fetch_one(
        conn,
        "SELECT action::text AS action, details FROM audit_logs WHERE entity_id = $1 ORDER BY entity_version DESC",
        aircraft_id,
    )
    assert row["action"] == "update"
    assert row["details"]["changes"] == {"grounded_by": {"from": "task", "to": "manual"}}
    await _finish(api, conn, home, aircraft_id, "cancelled")
    assert await _aircraft(api, home, aircraft_id) == taken


async def test_grounded_by_is_read_only(api: ApiClient, home: Tenant) -> None:
    created = await create(api, home["scheduler"])
    status, error, _ = await call(
        api, "PATCH", f"{AIRCRAFT}/{created['id']}", home["scheduler"], json={"grounded_by": "task"}
    )
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), error
    assert "grounded_by" in error["details"]["fields"]
    assert created["grounded_by"] is None
