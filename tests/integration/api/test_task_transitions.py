"""Task transitions over HTTP: every rule of the state machine, its effects, and what a refusal leaves (nothing).

Start: from 5 minutes before start_time, aircraft grounded, an assigned live mechanic. Complete:
notes, at or after end_time (earlier with a scheduler's or admin's override), no reservation
still reserved, every compliance item signed off. Cancel: scheduler or admin, before start + 24 h
unless an admin overrides; it releases the task's reservations. Completed and cancelled are final.
Each accepted transition: one state_change audit row and one task_state_changed event keyed
`task_state_changed:{org_id}:{task_id}:{new_state}:{version}`.
"""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from amss.infra.postgres.sql import fetch_one
from tests.api_support import Tenant, call
from tests.clients import ApiClient
from tests.integration.api.route_samples import code_of, raise_rate_limits
from tests.integration.api.task_support import audit_actions, event_keys, rule_of, transition
from tests.integration.factories import (
    make_aircraft,
    make_compliance_item,
    make_part_item,
    make_program,
    make_reservation,
    make_task,
    make_user,
    soon,
)


@pytest.fixture
async def home(conn: asyncpg.Connection, tenant: Tenant) -> Tenant:
    await raise_rate_limits(conn, tenant.org_id)
    return tenant


def state_key(home: Tenant, task_id: object, state: str, version: int) -> str:
    return f"task_state_changed:{home.org_id}:{task_id}:{state}:{version}"


async def _grounded_task(
    conn: asyncpg.Connection, home: Tenant, start_hours: float, end_hours: float, **values: object
) -> uuid.UUID:
    # grounded for its task by the system (the grounding check), which releases it when the task is done
    status = values.pop("aircraft_status", "grounded")
    aircraft_id = await make_aircraft(
        conn, home.org_id, status=status, grounded_by="task" if status == "grounded" else None
    )
    values.setdefault("assigned_mechanic_id", home["mechanic"].user_id)
    return await make_task(conn, home.org_id, aircraft_id, soon(start_hours), soon(end_hours), **values)


async def _state(conn: asyncpg.Connection, task_id: uuid.UUID) -> tuple[str, int]:
    row = await fetch_one(conn, "SELECT state::text AS state, version FROM maintenance_tasks WHERE id = $1", task_id)
    return row["state"], row["version"]


# --- start ------------------------------------------------------------------------------------------


async def test_start_within_the_grace_by_the_assigned_mechanic(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    task_id = await _grounded_task(conn, home, 4 / 60, 3)  # starts in 4 minutes: inside the 5-minute grace
    status, task = await transition(api, home["mechanic"], task_id, "in_progress", notes="started early")
    assert status == 200, task
    assert (task["state"], task["version"], task["notes"]) == ("in_progress", 2, "started early")
    assert await audit_actions(conn, task_id) == [("state_change", 2)]
    assert await event_keys(conn, task_id) == [state_key(home, task_id, "in_progress", 2)]


async def test_start_is_refused_too_early(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    task_id = await _grounded_task(conn, home, 6 / 60, 3)
    status, error = await transition(api, home["mechanic"], task_id, "in_progress")
    assert (status, code_of(error), rule_of(error)) == (409, "CONFLICT", "too_early"), error
    assert error["details"]["current_state"] == "scheduled"
    assert await _state(conn, task_id) == ("scheduled", 1)
    assert await audit_actions(conn, task_id) == [] and await event_keys(conn, task_id) == []


async def test_start_needs_a_grounded_aircraft(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    task_id = await _grounded_task(conn, home, 0, 3, aircraft_status="operational")
    status, error = await transition(api, home["scheduler"], task_id, "in_progress")
    assert (status, rule_of(error)) == (409, "aircraft_not_grounded"), error
    assert await _state(conn, task_id) == ("scheduled", 1)


@pytest.mark.parametrize("problem", ["mechanic_missing", "mechanic_role", "mechanic_deleted"])
async def test_start_needs_an_assigned_live_mechanic(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, problem: str
) -> None:
    assignee: uuid.UUID | None = None
    if problem == "mechanic_role":
        assignee = await make_user(conn, home.org_id, "scheduler")
    elif problem == "mechanic_deleted":
        assignee = await make_user(conn, home.org_id, "mechanic")
        await conn.execute("UPDATE users SET deleted_at = now() WHERE id = $1", assignee)
    task_id = await _grounded_task(conn, home, 0, 3, assigned_mechanic_id=assignee)
    status, error = await transition(api, home["scheduler"], task_id, "in_progress")
    assert (status, rule_of(error)) == (409, problem), error
    assert await _state(conn, task_id) == ("scheduled", 1)


async def test_a_mechanic_starts_only_a_task_assigned_to_them(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    someone_else = await make_user(conn, home.org_id, "mechanic")
    task_id = await _grounded_task(conn, home, 0, 3, assigned_mechanic_id=someone_else)
    status, error = await transition(api, home["mechanic"], task_id, "in_progress")
    assert (status, code_of(error)) == (403, "FORBIDDEN"), error
    status, error = await transition(api, home["auditor"], task_id, "in_progress")
    assert (status, code_of(error)) == (403, "FORBIDDEN"), error
    assert await _state(conn, task_id) == ("scheduled", 1)


# --- complete ---------------------------------------------------------------------------------------


async def test_completion_is_blocked_by_each_missing_condition_in_turn(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    task_id = await _grounded_task(conn, home, -1, 2, state="in_progress")
    aircraft_id = await conn.fetchval("SELECT aircraft_id FROM maintenance_tasks WHERE id = $1", task_id)
    part_item = await make_part_item(conn, home.org_id)
    reservation = await make_reservation(conn, home.org_id, task_id, part_item)
    unsigned = await make_compliance_item(conn, home.org_id, task_id, description="inspect seal")
    mechanic, scheduler = home["mechanic"], home["scheduler"]

    # 1. no notes
    status, error = await transition(api, mechanic, task_id, "completed")
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), error
    assert "notes" in error["details"]["fields"]
    status, error = await transition(api, mechanic, task_id, "completed", notes="   ")
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), error
    # 2. before end_time, and a mechanic cannot override
    status, error = await transition(api, mechanic, task_id, "completed", notes="done")
    assert (status, rule_of(error)) == (409, "before_end_time"), error
    status, error = await transition(api, mechanic, task_id, "completed", notes="done", override=True)
    assert (status, code_of(error)) == (403, "FORBIDDEN"), error
    # 3. a reservation still reserved (the scheduler's override covers the end time only)
    status, error = await transition(api, scheduler, task_id, "completed", notes="done", override=True)
    assert (status, rule_of(error)) == (409, "reservations_open"), error
    assert error["details"]["reservation_ids"] == [str(reservation)]
    await conn.execute("UPDATE part_reservations SET state = 'used' WHERE id = $1", reservation)
    # 4. a compliance item not signed off (its result still pending)
    status, error = await transition(api, scheduler, task_id, "completed", notes="done", override=True)
    assert (status, rule_of(error)) == (409, "compliance_open"), error
    assert error["details"]["compliance_item_ids"] == [str(unsigned)]
    status, signed, _ = await call(
        api, "PATCH", f"/api/v1/compliance-items/{unsigned}/sign-off", mechanic, json={"result": "fail"}
    )
    assert status == 200, signed
    assert await _state(conn, task_id) == ("in_progress", 1)
    assert await audit_actions(conn, task_id) == [] and await event_keys(conn, task_id) == []

    # 5. everything in order: completed early with the scheduler's override
    status, task = await transition(api, scheduler, task_id, "completed", notes="seal replaced", override=True)
    assert status == 200, task
    assert (task["state"], task["version"], task["notes"]) == ("completed", 2, "seal replaced")
    assert await audit_actions(conn, task_id) == [("state_change", 2)]
    assert await event_keys(conn, task_id) == [state_key(home, task_id, "completed", 2)]
    # the aircraft has nothing left to do: released automatically, in the same unit of work
    row = await fetch_one(conn, "SELECT status::text AS status, version FROM aircraft WHERE id = $1", aircraft_id)
    assert (row["status"], row["version"]) == ("operational", 2)
    assert await event_keys(conn, aircraft_id) == [f"aircraft_status_updated:{home.org_id}:{aircraft_id}:operational:2"]


async def test_the_assigned_mechanic_completes_after_end_time(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    task_id = await _grounded_task(conn, home, -3, -1, state="in_progress", notes="work card 7")
    status, task = await transition(api, home["mechanic"], task_id, "completed")
    assert (status, task["state"], task["notes"]) == (200, "completed", "work card 7"), task


async def test_a_mechanic_cannot_complete_someone_elses_task(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    someone_else = await make_user(conn, home.org_id, "mechanic")
    task_id = await _grounded_task(conn, home, -3, -1, state="in_progress", assigned_mechanic_id=someone_else)
    status, error = await transition(api, home["mechanic"], task_id, "completed", notes="done")
    assert (status, code_of(error)) == (403, "FORBIDDEN"), error
    assert await _state(conn, task_id) == ("in_progress", 1)


async def test_completion_records_the_programs_performance(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    aircraft_id = await make_aircraft(conn, home.org_id, status="grounded", cycles_total=120)
    program_id = await make_program(
        conn, home.org_id, aircraft_id=aircraft_id, interval_type="cycles", interval_value=50
    )
    task_id = await make_task(
        conn,
        home.org_id,
        aircraft_id,
        soon(-3),
        soon(-1),
        state="in_progress",
        program_id=program_id,
        assigned_mechanic_id=home["mechanic"].user_id,
    )
    status, task = await transition(api, home["mechanic"], task_id, "completed", notes="done")
    assert status == 200, task
    row = await fetch_one(
        conn, "SELECT last_performed, last_performed_usage, version FROM maintenance_programs WHERE id = $1", program_id
    )
    assert row["last_performed"] is not None and (row["last_performed_usage"], row["version"]) == (120, 2)
    assert await audit_actions(conn, program_id) == [("update", 2)]


# --- cancel -----------------------------------------------------------------------------------------


async def test_cancel_releases_the_reservations(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    task_id = await _grounded_task(conn, home, 2, 4)
    part_item = await make_part_item(conn, home.org_id)
    reservation = await make_reservation(conn, home.org_id, task_id, part_item)
    status, error = await transition(api, home["mechanic"], task_id, "cancelled")
    assert (status, code_of(error)) == (403, "FORBIDDEN"), error
    assert await conn.fetchval("SELECT state::text FROM part_reservations WHERE id = $1", reservation) == "reserved"

    status, task = await transition(api, home["scheduler"], task_id, "cancelled", notes="weather")
    assert status == 200, task
    assert (task["state"], task["version"]) == ("cancelled", 2)
    assert [(r["id"], r["state"]) for r in task["reservations"]] == [(str(reservation), "released")]
    assert await conn.fetchval("SELECT status::text FROM part_items WHERE id = $1", part_item) == "in_stock"
    assert await audit_actions(conn, task_id) == [("state_change", 2)]
    details = await conn.fetchval("SELECT details FROM audit_logs WHERE entity_id = $1", task_id)
    assert "released_reservation_ids" in str(details) and str(reservation) in str(details)
    assert await event_keys(conn, task_id) == [state_key(home, task_id, "cancelled", 2)]


async def test_late_cancel_needs_an_admins_override(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    task_id = await _grounded_task(conn, home, -25, 1, state="in_progress")
    status, error = await transition(api, home["scheduler"], task_id, "cancelled")
    assert (status, rule_of(error)) == (409, "cancel_window_passed"), error
    status, error = await transition(api, home["scheduler"], task_id, "cancelled", override=True)
    assert (status, code_of(error)) == (403, "FORBIDDEN"), error
    status, error = await transition(api, home["admin"], task_id, "cancelled")
    assert (status, rule_of(error)) == (409, "cancel_window_passed"), error
    status, task = await transition(api, home["admin"], task_id, "cancelled", override=True)
    assert (status, task["state"]) == (200, "cancelled"), task
    assert await audit_actions(conn, task_id) == [("state_change", 2)]


# --- final states, idempotency ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "target"),
    [
        ("completed", "in_progress"),
        ("completed", "cancelled"),
        ("cancelled", "scheduled"),
        ("cancelled", "in_progress"),
    ],
)
async def test_completed_and_cancelled_are_final(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, state: str, target: str
) -> None:
    task_id = await _grounded_task(conn, home, -3, -1, state=state)
    status, error = await transition(api, home["admin"], task_id, target, override=target == "cancelled")
    assert (status, rule_of(error), error["details"]["current_state"]) == (409, "final_state", state), error
    assert await _state(conn, task_id) == (state, 1)


async def test_a_transition_is_idempotent(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    task_id = await _grounded_task(conn, home, 0, 3)
    headers = {"Idempotency-Key": f"start-{uuid.uuid4()}"}
    path = f"/api/v1/maintenance-tasks/{task_id}/state"
    first = await call(api, "PATCH", path, home["mechanic"], json={"state": "in_progress"}, headers=headers)
    again = await call(api, "PATCH", path, home["mechanic"], json={"state": "in_progress"}, headers=headers)
    assert (first[0], again[0], again[1]) == (200, 200, first[1])
    assert await audit_actions(conn, task_id) == [("state_change", 2)]
    status, error = await transition(api, home["mechanic"], task_id, "in_progress")
    assert (status, rule_of(error)) == (409, "no_such_transition"), error


async def test_unknown_or_missing_target_state_is_a_validation_error(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    task_id = await _grounded_task(conn, home, 0, 3)
    for body in ({"state": "paused"}, {}, {"state": "in_progress", "override": "yes"}):
        status, error, _ = await call(
            api, "PATCH", f"/api/v1/maintenance-tasks/{task_id}/state", home["admin"], json=body
        )
        assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), (body, error)
