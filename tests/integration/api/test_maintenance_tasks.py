"""Maintenance tasks over HTTP: create (idempotent, overlap-checked twice), read with embeds, list, PATCH, delete.

The API runs with the mesh off (conftest.py), so twenty concurrent creates really race in
Postgres: the service's pre-check cannot see uncommitted rivals, and the exclusion constraint
decides — still as a clean 409 SCHEDULE_OVERLAP naming the task in the way, never a 500.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import orjson
import pytest

from amss.api.rest.handlers.maintenance_tasks import TaskDetailOut, TaskOut
from amss.app.tasks.ports import NewTask
from amss.app.tasks.views import task_view
from amss.domain.enums import TaskType
from amss.domain.errors import ScheduleOverlap
from amss.infra.postgres.sql import fetch_one
from amss.infra.postgres.tasks_repo import PgTaskRepository
from tests.api_support import Tenant, call
from tests.clients import ApiClient
from tests.integration.api.aircraft_support import raw
from tests.integration.api.route_samples import code_of, raise_rate_limits
from tests.integration.api.task_support import as_json, audit_actions, create_task, event_keys, window_body
from tests.integration.factories import (
    make_aircraft,
    make_compliance_item,
    make_part_item,
    make_reservation,
    make_task,
    soon,
)

TASKS = "/api/v1/maintenance-tasks"


@pytest.fixture
async def home(conn: asyncpg.Connection, tenant: Tenant) -> Tenant:
    await raise_rate_limits(conn, tenant.org_id)
    return tenant


async def test_create_answers_201_with_location_audit_row_and_task_created_event(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    aircraft_id = await make_aircraft(conn, home.org_id)
    mechanic = home["mechanic"].user_id
    body = window_body(aircraft_id, soon(48), soon(50), assigned_mechanic_id=str(mechanic), notes="A-check")
    status, created, headers = await call(api, "POST", TASKS, home["scheduler"], json=body)
    assert status == 201, created
    assert headers["Location"] == f"{TASKS}/{created['id']}"
    TaskDetailOut.model_validate_json(orjson.dumps(created), strict=True)
    assert set(created) == set(TaskDetailOut.model_fields)
    assert (created["state"], created["version"], created["org_id"]) == ("scheduled", 1, str(home.org_id))
    assert (created["reservations"], created["compliance_items"]) == ([], [])
    assert created["assigned_mechanic_id"] == str(mechanic)
    # the command's answer is byte for byte a read
    status, created_bytes = await raw(
        api, "POST", TASKS, home["scheduler"], json=window_body(aircraft_id, soon(60), soon(61))
    )
    assert status == 201
    second = orjson.loads(created_bytes)
    assert await raw(api, "GET", f"{TASKS}/{second['id']}", home["auditor"]) == (200, created_bytes)

    assert await audit_actions(conn, created["id"]) == [("create", 1)]
    audit = await fetch_one(
        conn, "SELECT user_id, details FROM audit_logs WHERE entity_id = $1", uuid.UUID(created["id"])
    )
    assert audit["user_id"] == home["scheduler"].user_id
    assert as_json(audit["details"])["notes"] == "A-check"
    assert await event_keys(conn, created["id"]) == [f"task_created:{home.org_id}:{created['id']}"]
    payload = as_json(
        await conn.fetchval("SELECT payload FROM outbox_events WHERE aggregate_id = $1", uuid.UUID(created["id"]))
    )
    assert (payload["version"], payload["event_type"], payload["task_id"], payload["org_id"]) == (
        1,
        "task_created",
        created["id"],
        str(home.org_id),
    )


async def test_create_is_idempotent(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    aircraft_id = await make_aircraft(conn, home.org_id)
    body = window_body(aircraft_id, soon(48), soon(50))
    headers = {"Idempotency-Key": f"task-{uuid.uuid4()}"}
    first = await call(api, "POST", TASKS, home["scheduler"], json=body, headers=headers)
    again = await call(api, "POST", TASKS, home["scheduler"], json=body, headers=headers)
    assert (first[0], again[0]) == (201, 201), (first, again)
    assert again[1] == first[1]
    assert again[2].get("Idempotent-Replayed") == "true"
    assert await conn.fetchval("SELECT count(*) FROM maintenance_tasks WHERE aircraft_id = $1", aircraft_id) == 1
    assert await audit_actions(conn, first[1]["id"]) == [("create", 1)]


async def test_create_refuses_bad_input(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    aircraft_id = await make_aircraft(conn, home.org_id)
    scheduler = home["scheduler"]
    cases = [
        (window_body(aircraft_id, soon(50), soon(48)), "end_time"),
        (window_body(uuid.uuid4(), soon(48), soon(50)), "aircraft_id"),
        (
            window_body(aircraft_id, soon(48), soon(50), assigned_mechanic_id=str(home["scheduler"].user_id)),
            "assigned_mechanic_id",
        ),
        (window_body(aircraft_id, soon(48), soon(50), program_id=str(uuid.uuid4())), "program_id"),
        ({**window_body(aircraft_id, soon(48), soon(50)), "type": "polish"}, "type"),
        ({**window_body(aircraft_id, soon(48), soon(50)), "start_time": "2030-01-01T00:00:00"}, "start_time"),
    ]
    for body, field in cases:
        status, error, _ = await call(api, "POST", TASKS, scheduler, json=body)
        assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), (body, error)
        assert field in error["details"]["fields"], (field, error)
    assert await conn.fetchval("SELECT count(*) FROM maintenance_tasks WHERE aircraft_id = $1", aircraft_id) == 0


async def test_overlap_pre_check_names_the_task_in_the_way(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    aircraft_id = await make_aircraft(conn, home.org_id)
    start, end = soon(48), soon(50)
    first = await create_task(api, home["scheduler"], aircraft_id, start, end)
    status, error, _ = await call(api, "POST", TASKS, home["admin"], json=window_body(aircraft_id, soon(49), soon(51)))
    assert (status, code_of(error)) == (409, "SCHEDULE_OVERLAP"), error
    assert error["details"]["conflicting_task_id"] == first["id"]
    assert {"start_time", "end_time"} <= set(error["details"])
    # touching windows do not overlap; another aircraft's schedule is its own
    await create_task(api, home["scheduler"], aircraft_id, end, soon(52))
    await create_task(api, home["scheduler"], await make_aircraft(conn, home.org_id), start, end)
    # a cancelled task frees its window
    await conn.execute("UPDATE maintenance_tasks SET state = 'cancelled' WHERE id = $1", uuid.UUID(first["id"]))
    await create_task(api, home["scheduler"], aircraft_id, start, end)


async def test_twenty_concurrent_creates_of_one_window_give_one_201_and_nineteen_overlaps(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    aircraft_id = await make_aircraft(conn, home.org_id)
    body = window_body(aircraft_id, soon(48), soon(50))
    answers = await asyncio.gather(*(call(api, "POST", TASKS, home["scheduler"], json=body) for _ in range(20)))
    statuses = sorted(answer[0] for answer in answers)
    assert statuses == [201] + [409] * 19, [answer[:2] for answer in answers]
    winner = next(answer[1] for answer in answers if answer[0] == 201)
    for status, error, _ in answers:
        if status == 409:
            assert code_of(error) == "SCHEDULE_OVERLAP", error
            assert error["details"]["conflicting_task_id"] == winner["id"], error
    rows = await conn.fetch("SELECT id FROM maintenance_tasks WHERE aircraft_id = $1", aircraft_id)
    assert [str(row["id"]) for row in rows] == [winner["id"]]
    assert await audit_actions(conn, winner["id"]) == [("create", 1)]
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM audit_logs WHERE org_id = $1 AND entity_type = 'maintenance_task'", home.org_id
        )
        == 1
    )
    assert await event_keys(conn, winner["id"]) == [f"task_created:{home.org_id}:{winner['id']}"]


async def test_read_embeds_reservations_and_compliance_items(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    aircraft_id = await make_aircraft(conn, home.org_id)
    task_id = await make_task(conn, home.org_id, aircraft_id, soon(48), soon(50))
    item_id = await make_part_item(conn, home.org_id)
    reservation_id = await make_reservation(conn, home.org_id, task_id, item_id)
    compliance_id = await make_compliance_item(conn, home.org_id, task_id, description="check torque")
    status, task, _ = await call(api, "GET", f"{TASKS}/{task_id}", home["mechanic"])
    assert status == 200, task
    assert [(r["id"], r["state"], r["part_item_id"]) for r in task["reservations"]] == [
        (str(reservation_id), "reserved", str(item_id))
    ]
    assert [(c["id"], c["description"], c["result"], c["signed_off"]) for c in task["compliance_items"]] == [
        (str(compliance_id), "check torque", "pending", False)
    ]
    status, error, _ = await call(api, "GET", f"{TASKS}/{uuid.uuid4()}", home["mechanic"])
    assert (status, code_of(error)) == (404, "NOT_FOUND")


async def test_list_filters_sorts_and_pages(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    first_aircraft, second_aircraft = await make_aircraft(conn, home.org_id), await make_aircraft(conn, home.org_id)
    early = await make_task(conn, home.org_id, first_aircraft, soon(10), soon(11))
    late = await make_task(conn, home.org_id, first_aircraft, soon(30), soon(31), type="repair")
    done = await make_task(conn, home.org_id, second_aircraft, soon(20), soon(21), state="completed")

    async def ids(query: str) -> list[str]:
        status, page, _ = await call(api, "GET", f"{TASKS}?{query}", home["auditor"])
        assert status == 200, page
        for item in page["items"]:
            assert set(item) == set(TaskOut.model_fields)
        return [item["id"] for item in page["items"]]

    assert await ids(f"aircraft_id={first_aircraft}") == [str(early), str(late)]
    assert await ids(f"aircraft_id={first_aircraft}&sort=-start_time") == [str(late), str(early)]
    assert await ids("state=completed") == [str(done)]
    assert await ids("type=repair") == [str(late)]
    window = f"start_from={soon(15).isoformat()}&start_to={soon(25).isoformat()}".replace("+", "%2B")
    assert await ids(window) == [str(done)]
    status, page, _ = await call(api, "GET", f"{TASKS}?aircraft_id={first_aircraft}&limit=1", home["auditor"])
    assert [item["id"] for item in page["items"]] == [str(early)]
    cursor = page["next_cursor"]
    status, page, _ = await call(
        api, "GET", f"{TASKS}?aircraft_id={first_aircraft}&limit=1&cursor={cursor}", home["auditor"]
    )
    assert [item["id"] for item in page["items"]] == [str(late)]
    for query in ("state=done", "aircraft_id=nope", "sort=notes", "start_from=yesterday"):
        status, error, _ = await call(api, "GET", f"{TASKS}?{query}", home["auditor"])
        assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), (query, error)


async def test_patch_changes_fields_rechecks_overlap_and_honours_if_match(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    aircraft_id = await make_aircraft(conn, home.org_id)
    other = await create_task(api, home["scheduler"], aircraft_id, soon(60), soon(62))
    task = await create_task(api, home["scheduler"], aircraft_id, soon(48), soon(50))
    path = f"{TASKS}/{task['id']}"

    status, body = await raw(api, "PATCH", path, home["scheduler"], json={"notes": "bring the borescope"})
    assert status == 200, body
    updated = orjson.loads(body)
    assert (updated["notes"], updated["version"]) == ("bring the borescope", 2)
    assert await raw(api, "GET", path, home["auditor"]) == (200, body)

    status, error, _ = await call(
        api, "PATCH", path, home["scheduler"], json={"notes": "x"}, headers={"If-Match": '"1"'}
    )
    assert (status, code_of(error)) == (412, "PRECONDITION_FAILED"), error

    moved = {"start_time": soon(61).isoformat(), "end_time": soon(63).isoformat()}
    status, error, _ = await call(api, "PATCH", path, home["scheduler"], json=moved)
    assert (status, code_of(error)) == (409, "SCHEDULE_OVERLAP"), error
    assert error["details"]["conflicting_task_id"] == other["id"]

    status, error, _ = await call(api, "PATCH", path, home["scheduler"], json={"state": "cancelled"})
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), error
    status, error, _ = await call(api, "PATCH", path, home["mechanic"], json={"notes": "mine"})
    assert (status, code_of(error)) == (403, "FORBIDDEN"), error

    status, same, _ = await call(api, "PATCH", path, home["admin"], json={"notes": "bring the borescope"})
    assert (status, same["version"]) == (200, 2)
    assert await audit_actions(conn, task["id"]) == [("create", 1), ("update", 2)]
    assert await event_keys(conn, task["id"]) == [f"task_created:{home.org_id}:{task['id']}"]


@pytest.mark.parametrize("state", ["completed", "cancelled"])
async def test_patch_of_a_final_task_is_409(api: ApiClient, conn: asyncpg.Connection, home: Tenant, state: str) -> None:
    task_id = await make_task(
        conn, home.org_id, await make_aircraft(conn, home.org_id), soon(-3), soon(-1), state=state
    )
    status, error, _ = await call(api, "PATCH", f"{TASKS}/{task_id}", home["scheduler"], json={"notes": "fix"})
    assert (status, code_of(error), error["details"]["current_state"]) == (409, "CONFLICT", state), error
    assert await audit_actions(conn, task_id) == []


async def test_delete_is_soft_and_releases_reservations(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    aircraft_id = await make_aircraft(conn, home.org_id)
    task = await create_task(api, home["scheduler"], aircraft_id, soon(48), soon(50))
    item_id = await make_part_item(conn, home.org_id)
    reservation_id = await make_reservation(conn, home.org_id, uuid.UUID(task["id"]), item_id)
    path = f"{TASKS}/{task['id']}"
    status, body, _ = await call(api, "DELETE", path, home["scheduler"])
    assert (status, body) == (204, None)
    assert (await call(api, "GET", path, home["scheduler"]))[0] == 404
    row = await fetch_one(
        conn, "SELECT deleted_at, version FROM maintenance_tasks WHERE id = $1", uuid.UUID(task["id"])
    )
    assert row["deleted_at"] is not None and row["version"] == 2
    assert await conn.fetchval("SELECT state::text FROM part_reservations WHERE id = $1", reservation_id) == "released"
    assert await conn.fetchval("SELECT status::text FROM part_items WHERE id = $1", item_id) == "in_stock"
    assert await audit_actions(conn, task["id"]) == [("create", 1), ("delete", 2)]
    # its window is free again
    await create_task(api, home["scheduler"], aircraft_id, soon(48), soon(50))

    running = await make_task(conn, home.org_id, aircraft_id, soon(-1), soon(1), state="in_progress")
    status, error, _ = await call(api, "DELETE", f"{TASKS}/{running}", home["scheduler"])
    assert (status, code_of(error)) == (409, "CONFLICT"), error


def test_task_view_and_schema_agree() -> None:
    assert set(TaskOut.model_fields) <= set(TaskDetailOut.model_fields)
    assert set(TaskDetailOut.model_fields) - set(TaskOut.model_fields) == {"reservations", "compliance_items"}
    assert "reservations" not in task_view.__annotations__


async def test_the_exclusion_constraint_backstop_names_the_task_in_the_way(
    conn: asyncpg.Connection, home: Tenant
) -> None:
    """What a race past the pre-check meets: the repository itself, with no pre-check at all."""
    aircraft_id = await make_aircraft(conn, home.org_id)
    existing = await make_task(conn, home.org_id, aircraft_id, soon(48), soon(50))
    repository = PgTaskRepository(conn)
    async with conn.transaction():
        with pytest.raises(ScheduleOverlap) as refused:
            await repository.add(home.org_id, NewTask(aircraft_id, TaskType.REPAIR, soon(49), soon(51)))
        # the transaction survived the refusal (a savepoint took it)
        assert await conn.fetchval("SELECT count(*) FROM maintenance_tasks WHERE aircraft_id = $1", aircraft_id) == 1
    assert refused.value.details["conflicting_task_id"] == str(existing)
