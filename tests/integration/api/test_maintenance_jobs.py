"""The worker's maintenance jobs, run directly (burst mode) with the mesh off: their commands execute
in this process through a CommandBus with a local CommandExecutor built from the real handler registry.

Program task generation: a due program gets exactly one inspection task (program_id set, audited
as the job, `task_created` and `program_task_generated` in the same transaction); a rerun
generates nothing; usage programs fall due through `POST /aircraft/{id}/usage`; templates never
generate. The grounding check grounds an operational aircraft with a confirmed task inside the
lead time and leaves the others alone.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
import redis.asyncio as redis

from amss.actors.bus import CommandBus
from amss.actors.executor import CommandExecutor
from amss.actors.registry import command_handlers
from amss.app.programs.generation import DEFAULT_DURATION, free_window
from amss.app.views import utc_text
from amss.bootstrap.commands import handlers
from amss.bootstrap.resources import open_resources
from amss.bootstrap.worker import job_command_bus
from amss.config import Settings
from amss.infra.postgres.command_acceptance import CommandAcceptor
from amss.infra.postgres.command_log import PgCommandLog
from amss.infra.postgres.jobs_repo import PgMaintenanceCandidates
from amss.infra.postgres.sql import fetch_one
from amss.infra.redis.batching import PipelineBatcher
from amss.infra.redis.keys import KeySpace
from amss.infra.redis.locks import RedisPartItemLocks
from amss.jobs.maintenance_jobs import generate_due_tasks, ground_due_aircraft, maintenance_jobs
from tests.api_support import Tenant, call
from tests.clients import ApiClient
from tests.integration.api.route_samples import raise_rate_limits
from tests.integration.factories import make_aircraft, make_program, make_task, soon

LEAD = timedelta(hours=24)


@pytest.fixture
async def home(conn: asyncpg.Connection, tenant: Tenant) -> Tenant:
    await raise_rate_limits(conn, tenant.org_id)
    return tenant


@pytest.fixture
async def bus(
    pg_pool: asyncpg.Pool, redis_client: redis.Redis, key_space: KeySpace, api_settings: Settings
) -> AsyncIterator[CommandBus]:
    executor = CommandExecutor(
        PgCommandLog(pg_pool),
        command_handlers(api_settings, RedisPartItemLocks(redis_client, key_space)),
        10.0,
        "test-jobs",
    )
    command_bus = CommandBus(
        CommandAcceptor(pg_pool),
        redis_client,
        key_space,
        api_settings.amss_partitions,
        None,
        executor,
        PipelineBatcher(redis_client),
    )
    yield command_bus
    await command_bus.close()


async def program_tasks(conn: asyncpg.Connection, program_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT id, aircraft_id, type::text AS type, state::text AS state, start_time, end_time, notes"
        " FROM maintenance_tasks WHERE program_id = $1 AND deleted_at IS NULL ORDER BY created_at",
        program_id,
    )


async def generated_events(conn: asyncpg.Connection, program_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT dedupe_key, payload FROM outbox_events WHERE event_type = 'program_task_generated'"
        " AND aggregate_id = $1",
        program_id,
    )


async def test_calendar_program_due_generates_one_task_once(
    conn: asyncpg.Connection, pg_pool: asyncpg.Pool, bus: CommandBus, home: Tenant
) -> None:
    aircraft_id = await make_aircraft(conn, home.org_id)
    performed = datetime.now(UTC) - timedelta(days=40)
    program_id = await make_program(
        conn, home.org_id, aircraft_id=aircraft_id, interval_value=30, last_performed=performed
    )
    not_due = await make_program(
        conn,
        home.org_id,
        aircraft_id=aircraft_id,
        interval_value=30,
        last_performed=datetime.now(UTC) - timedelta(days=5),
    )
    template = await make_program(conn, home.org_id, last_performed=performed)

    before = datetime.now(UTC)
    report = await generate_due_tasks(PgMaintenanceCandidates(pg_pool), bus, lead_time=LEAD, org_id=home.org_id)
    assert (report.candidates, report.changed, report.failed, report.pending) == (1, 1, 0, 0)

    [task] = await program_tasks(conn, program_id)
    assert (task["aircraft_id"], task["type"], task["state"]) == (aircraft_id, "inspection", "scheduled")
    assert before + LEAD <= task["start_time"] <= datetime.now(UTC) + LEAD
    assert task["end_time"] - task["start_time"] == DEFAULT_DURATION
    assert await program_tasks(conn, not_due) == [] and await program_tasks(conn, template) == []

    [audit] = await conn.fetch(
        "SELECT action::text AS action, user_id, details FROM audit_logs WHERE entity_id = $1", task["id"]
    )
    assert (audit["action"], audit["user_id"]) == ("create", None)
    assert audit["details"]["actor"] == {"job": "program-generator"}
    assert audit["details"]["program_id"] == str(program_id)

    [event] = await generated_events(conn, program_id)
    due_date = utc_text(performed + timedelta(days=30))
    assert event["dedupe_key"] == f"program_task_generated:{home.org_id}:{program_id}:{due_date}"
    payload = event["payload"]
    assert (payload["version"], payload["org_id"]) == (1, str(home.org_id))
    assert payload["maintenance_program_id"] == str(program_id)
    assert payload["data"]["task_id"] == str(task["id"])
    assert payload["data"]["due_date"] == due_date
    created = await conn.fetchval(
        "SELECT count(*) FROM outbox_events WHERE event_type = 'task_created' AND aggregate_id = $1", task["id"]
    )
    assert created == 1

    # a rerun generates nothing: the program has an active task now
    again = await generate_due_tasks(PgMaintenanceCandidates(pg_pool), bus, lead_time=LEAD, org_id=home.org_id)
    assert (again.candidates, again.changed) == (0, 0)
    assert len(await program_tasks(conn, program_id)) == 1
    assert len(await generated_events(conn, program_id)) == 1


async def test_a_cancelled_generated_task_is_not_generated_again_for_the_same_due_date(
    conn: asyncpg.Connection, pg_pool: asyncpg.Pool, bus: CommandBus, home: Tenant
) -> None:
    aircraft_id = await make_aircraft(conn, home.org_id)
    performed = datetime.now(UTC) - timedelta(days=40)
    program_id = await make_program(
        conn, home.org_id, aircraft_id=aircraft_id, interval_value=30, last_performed=performed
    )
    assert (
        await generate_due_tasks(PgMaintenanceCandidates(pg_pool), bus, lead_time=LEAD, org_id=home.org_id)
    ).changed == 1
    await conn.execute("UPDATE maintenance_tasks SET state = 'cancelled' WHERE program_id = $1", program_id)
    report = await generate_due_tasks(PgMaintenanceCandidates(pg_pool), bus, lead_time=LEAD, org_id=home.org_id)
    assert (report.candidates, report.changed, report.unchanged) == (1, 0, 1)
    assert len(await generated_events(conn, program_id)) == 1


async def test_usage_program_falls_due_through_usage_reports(
    api: ApiClient, conn: asyncpg.Connection, pg_pool: asyncpg.Pool, bus: CommandBus, home: Tenant
) -> None:
    aircraft_id = await make_aircraft(conn, home.org_id)
    program_id = await make_program(
        conn,
        home.org_id,
        aircraft_id=aircraft_id,
        interval_type="flight_hours",
        interval_value=100,
        last_performed_usage=0,
    )
    usage = f"/api/v1/aircraft/{aircraft_id}/usage"
    status, body, _ = await call(api, "POST", usage, home["scheduler"], json={"flight_hours": 99, "cycles": 10})
    assert status == 200, body
    report = await generate_due_tasks(PgMaintenanceCandidates(pg_pool), bus, lead_time=LEAD, org_id=home.org_id)
    assert (report.candidates, report.changed) == (0, 0)
    assert await program_tasks(conn, program_id) == []

    status, body, _ = await call(api, "POST", usage, home["scheduler"], json={"flight_hours": 2})
    assert (status, body["flight_hours_total"]) == (200, 101)
    report = await generate_due_tasks(PgMaintenanceCandidates(pg_pool), bus, lead_time=LEAD, org_id=home.org_id)
    assert (report.candidates, report.changed) == (1, 1)
    [task] = await program_tasks(conn, program_id)
    [event] = await generated_events(conn, program_id)
    assert event["dedupe_key"] == f"program_task_generated:{home.org_id}:{program_id}:flight_hours-100"
    assert task["state"] == "scheduled"


async def test_generated_window_moves_past_a_blocking_task(
    conn: asyncpg.Connection, pg_pool: asyncpg.Pool, bus: CommandBus, home: Tenant
) -> None:
    aircraft_id = await make_aircraft(conn, home.org_id)
    blocking = await make_task(conn, home.org_id, aircraft_id, soon(20), soon(30))
    program_id = await make_program(
        conn, home.org_id, aircraft_id=aircraft_id, interval_type="cycles", interval_value=1, last_performed_usage=0
    )
    await conn.execute("UPDATE aircraft SET cycles_total = 3 WHERE id = $1", aircraft_id)
    report = await generate_due_tasks(PgMaintenanceCandidates(pg_pool), bus, lead_time=LEAD, org_id=home.org_id)
    assert report.changed == 1
    [task] = await program_tasks(conn, program_id)
    end_of_blocking = await conn.fetchval("SELECT end_time FROM maintenance_tasks WHERE id = $1", blocking)
    assert task["start_time"] == end_of_blocking


def test_free_window_keeps_a_free_window() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert free_window(start, DEFAULT_DURATION, []) == (start, start + DEFAULT_DURATION)


async def test_grounding_check_grounds_only_aircraft_with_a_confirmed_task_inside_the_lead_time(
    conn: asyncpg.Connection, pg_pool: asyncpg.Pool, bus: CommandBus, home: Tenant
) -> None:
    mechanic = home["mechanic"].user_id
    due = await make_aircraft(conn, home.org_id)
    await make_task(conn, home.org_id, due, soon(2), soon(4), assigned_mechanic_id=mechanic)
    later = await make_aircraft(conn, home.org_id)
    await make_task(conn, home.org_id, later, soon(48), soon(50), assigned_mechanic_id=mechanic)
    unassigned = await make_aircraft(conn, home.org_id)
    await make_task(conn, home.org_id, unassigned, soon(2), soon(4))
    grounded_already = await make_aircraft(conn, home.org_id, status="grounded")
    await make_task(conn, home.org_id, grounded_already, soon(2), soon(4), assigned_mechanic_id=mechanic)

    report = await ground_due_aircraft(PgMaintenanceCandidates(pg_pool), bus, lead_time=LEAD, org_id=home.org_id)
    assert (report.candidates, report.changed, report.failed) == (1, 1, 0)

    statuses = {
        row["id"]: row["status"]
        for row in await conn.fetch(
            "SELECT id, status::text AS status, version FROM aircraft WHERE org_id = $1", home.org_id
        )
    }
    assert statuses[due] == "grounded"
    assert (statuses[later], statuses[unassigned], statuses[grounded_already]) == (
        "operational",
        "operational",
        "grounded",
    )
    [audit] = await conn.fetch(
        "SELECT action::text AS action, user_id, details FROM audit_logs WHERE entity_id = $1", due
    )
    assert (audit["action"], audit["user_id"]) == ("state_change", None)
    assert audit["details"]["actor"] == {"job": "grounding-check"}
    assert audit["details"]["changes"]["status"] == {"from": "operational", "to": "grounded"}
    [event] = await conn.fetch(
        "SELECT dedupe_key FROM outbox_events WHERE event_type = 'aircraft_status_updated' AND aggregate_id = $1", due
    )
    assert event["dedupe_key"] == f"aircraft_status_updated:{home.org_id}:{due}:grounded:2"

    # a second run finds nothing more to do
    again = await ground_due_aircraft(PgMaintenanceCandidates(pg_pool), bus, lead_time=LEAD, org_id=home.org_id)
    assert (again.candidates, again.changed) == (0, 0)


async def test_the_grounding_check_grounds_for_a_task_and_the_task_workflow_releases_it(
    api: ApiClient, conn: asyncpg.Connection, pg_pool: asyncpg.Pool, bus: CommandBus, home: Tenant
) -> None:
    mechanic = home["mechanic"].user_id
    aircraft_id = await make_aircraft(conn, home.org_id)
    task_id = await make_task(conn, home.org_id, aircraft_id, soon(2), soon(4), assigned_mechanic_id=mechanic)
    report = await ground_due_aircraft(PgMaintenanceCandidates(pg_pool), bus, lead_time=LEAD, org_id=home.org_id)
    assert (report.candidates, report.changed) == (1, 1)
    row = await fetch_one(
        conn, "SELECT status::text AS status, grounded_by::text AS grounded_by FROM aircraft WHERE id = $1", aircraft_id
    )
    assert (row["status"], row["grounded_by"]) == ("grounded", "task")

    status, body, _ = await call(
        api, "PATCH", f"/api/v1/maintenance-tasks/{task_id}/state", home["scheduler"], json={"state": "cancelled"}
    )
    assert status == 200, body
    status, aircraft, _ = await call(api, "GET", f"/api/v1/aircraft/{aircraft_id}", home["auditor"])
    assert (aircraft["status"], aircraft["grounded_by"], aircraft["version"]) == ("operational", None, 3)


def test_the_worker_schedules_both_jobs(api_settings: Settings) -> None:
    jobs = {job.name: job.schedule for job in maintenance_jobs(api_settings, None, None)}  # type: ignore[arg-type]
    assert jobs == {"program-generator": "0 */6 * * *", "grounding-check": "*/5 * * * *"}


@pytest.mark.parametrize("mesh", [True, False])
async def test_job_command_bus_opens_and_closes_in_both_modes(
    pg_pool: asyncpg.Pool, redis_client: redis.Redis, api_settings: Settings, mesh: bool
) -> None:
    settings = api_settings.model_copy(update={"amss_mesh": mesh})
    async with open_resources(settings) as resources, job_command_bus(resources, handlers(resources)) as job_bus:
        assert isinstance(job_bus, CommandBus)
