"""AircraftService against Postgres, below HTTP: the automatic grounding rules and the repository's guards.

The grounding rules have no REST route (the task workflow and the periodic check call them), so
they are driven here through the service with a real unit of work and a fixed clock.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from amss.app.aircraft.service import AircraftService
from amss.app.ports import UnitOfWork
from amss.domain.enums import AircraftStatus
from amss.domain.errors import Conflict, NotFound
from amss.domain.principal import Actor
from amss.infra.postgres.aircraft_repo import PgAircraftRepository
from amss.infra.postgres.uow import PostgresUnitOfWork
from tests.integration.factories import make_aircraft, make_org, make_task, make_user

NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
LEAD = timedelta(hours=24)
JOB = Actor.for_job("grounding-check")


@pytest.fixture
def service(pg_pool: asyncpg.Pool) -> AircraftService:
    def unit_of_work() -> UnitOfWork:
        return PostgresUnitOfWork(pg_pool)

    return AircraftService(unit_of_work, lambda: NOW, LEAD)


async def _status(conn: asyncpg.Connection, aircraft_id: uuid.UUID) -> tuple[str, int]:
    row = await conn.fetchrow("SELECT status::text AS status, version FROM aircraft WHERE id = $1", aircraft_id)
    assert row is not None
    return row["status"], row["version"]


async def _trail(conn: asyncpg.Connection, aircraft_id: uuid.UUID) -> list[tuple[str, object, object]]:
    rows = await conn.fetch(
        "SELECT action::text AS action, user_id, details FROM audit_logs WHERE entity_id = $1"
        ' ORDER BY entity_version, "timestamp"',
        aircraft_id,
    )
    return [(row["action"], row["user_id"], row["details"]) for row in rows]


async def _keys(conn: asyncpg.Connection, aircraft_id: uuid.UUID) -> list[str]:
    rows = await conn.fetch(
        "SELECT dedupe_key FROM outbox_events WHERE aggregate_id = $1 ORDER BY created_at", aircraft_id
    )
    return [row["dedupe_key"] for row in rows]


async def test_a_confirmed_task_within_the_lead_time_grounds_and_its_end_releases(
    service: AircraftService, conn: asyncpg.Connection
) -> None:
    org_id = await make_org(conn)
    aircraft_id = await make_aircraft(conn, org_id)
    mechanic = await make_user(conn, org_id, "mechanic")
    task_id = await make_task(
        conn, org_id, aircraft_id, NOW + timedelta(hours=6), NOW + timedelta(hours=9), assigned_mechanic_id=mechanic
    )

    grounded = await service.apply_grounding_rules(JOB, org_id, aircraft_id, task_finished=False)
    assert grounded is not None and (grounded.status, grounded.version) == (AircraftStatus.GROUNDED, 2)
    assert await _status(conn, aircraft_id) == ("grounded", 2)
    # nothing more to do while the task is ahead, or in progress
    assert await service.apply_grounding_rules(JOB, org_id, aircraft_id, task_finished=False) is None
    await conn.execute("UPDATE maintenance_tasks SET state = 'in_progress' WHERE id = $1", task_id)
    assert await service.apply_grounding_rules(JOB, org_id, aircraft_id, task_finished=True) is None

    await conn.execute("UPDATE maintenance_tasks SET state = 'completed' WHERE id = $1", task_id)
    released = await service.apply_grounding_rules(JOB, org_id, aircraft_id, task_finished=True)
    assert released is not None and (released.status, released.version) == (AircraftStatus.OPERATIONAL, 3)

    job = {"actor": {"job": "grounding-check"}}
    assert await _trail(conn, aircraft_id) == [
        (
            "state_change",
            None,
            {
                "changes": {
                    "grounded_by": {"from": None, "to": "task"},
                    "status": {"from": "operational", "to": "grounded"},
                },
                "automatic": True,
                **job,
            },
        ),
        (
            "state_change",
            None,
            {
                "changes": {
                    "grounded_by": {"from": "task", "to": None},
                    "status": {"from": "grounded", "to": "operational"},
                },
                "automatic": True,
                **job,
            },
        ),
    ]
    assert await _keys(conn, aircraft_id) == [
        f"aircraft_status_updated:{org_id}:{aircraft_id}:grounded:2",
        f"aircraft_status_updated:{org_id}:{aircraft_id}:operational:3",
    ]


async def test_the_rules_leave_alone_what_they_do_not_govern(
    service: AircraftService, conn: asyncpg.Connection
) -> None:
    org_id = await make_org(conn)
    mechanic = await make_user(conn, org_id, "mechanic")
    # unconfirmed (no mechanic) or beyond the lead time: no grounding
    far = await make_aircraft(conn, org_id)
    await make_task(
        conn,
        org_id,
        far,
        NOW + LEAD + timedelta(hours=1),
        NOW + LEAD + timedelta(hours=3),
        assigned_mechanic_id=mechanic,
    )
    unassigned = await make_aircraft(conn, org_id)
    await make_task(conn, org_id, unassigned, NOW + timedelta(hours=1), NOW + timedelta(hours=3))
    # maintenance is explicit only
    in_maintenance = await make_aircraft(conn, org_id, status="maintenance")
    await make_task(
        conn, org_id, in_maintenance, NOW + timedelta(hours=1), NOW + timedelta(hours=3), assigned_mechanic_id=mechanic
    )
    # grounded for a task but not released unless a task finished
    grounded = await make_aircraft(conn, org_id, status="grounded", grounded_by="task")
    # grounded by a person (a defect): never released by the rules, whatever finished
    grounded_by_hand = await make_aircraft(conn, org_id, status="grounded", grounded_by="manual")
    for aircraft_id in (far, unassigned, in_maintenance, grounded, grounded_by_hand):
        assert await service.apply_grounding_rules(JOB, org_id, aircraft_id, task_finished=False) is None
        assert await _trail(conn, aircraft_id) == []
    assert await service.apply_grounding_rules(JOB, org_id, grounded, task_finished=True) is not None
    assert await service.apply_grounding_rules(JOB, org_id, grounded_by_hand, task_finished=True) is None
    assert await _trail(conn, grounded_by_hand) == []


async def test_an_unknown_or_foreign_aircraft_is_not_found(service: AircraftService, conn: asyncpg.Connection) -> None:
    org_id, other_org = await make_org(conn), await make_org(conn)
    foreign = await make_aircraft(conn, other_org)
    for aircraft_id in (foreign, uuid.uuid4()):
        with pytest.raises(NotFound):
            await service.apply_grounding_rules(JOB, org_id, aircraft_id, task_finished=True)
        with pytest.raises(NotFound):
            await service.record_usage(JOB, org_id, aircraft_id, 1, 1)


async def test_a_write_from_a_stale_read_is_a_conflict(conn: asyncpg.Connection) -> None:
    org_id = await make_org(conn)
    aircraft_id = await make_aircraft(conn, org_id)
    repository = PgAircraftRepository(conn)
    stale = await repository.get(org_id, aircraft_id)
    assert stale is not None
    await repository.update(stale, {"model": "A321"})
    for write in (
        repository.update(stale, {"model": "A319"}),
        repository.add_usage(stale, 1, 1),
        repository.soft_delete(stale, NOW),
    ):
        with pytest.raises(Conflict):
            await write
    assert await _status(conn, aircraft_id) == ("operational", 2)
