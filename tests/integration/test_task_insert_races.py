"""The task insert against concurrent writers: an aircraft deleted meanwhile gets no task, an
overlapping window committed meanwhile is refused naming the task in the way, another
organization's or a deleted aircraft inserts nothing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from amss.app.tasks.ports import NewTask
from amss.domain.enums import TaskType
from amss.domain.errors import ScheduleOverlap
from amss.infra.postgres.tasks_repo import PgTaskRepository
from tests.integration.factories import make_aircraft, make_org

START = datetime(2031, 3, 1, 8, tzinfo=UTC)


def new_task(aircraft_id: uuid.UUID, start: datetime = START) -> NewTask:
    return NewTask(aircraft_id, TaskType.INSPECTION, start, start + timedelta(hours=2))


async def test_a_task_never_lands_on_an_aircraft_deleted_while_it_was_inserted(
    pg_pool: asyncpg.Pool, conn: asyncpg.Connection
) -> None:
    org_id = await make_org(conn)
    aircraft_id = await make_aircraft(conn, org_id)
    async with pg_pool.acquire() as deleting, pg_pool.acquire() as inserting:
        delete = deleting.transaction()
        await delete.start()
        # as AircraftService.delete does: lock the row, then soft-delete it
        await deleting.execute("SELECT 1 FROM aircraft WHERE id = $1 FOR UPDATE", aircraft_id)
        await deleting.execute("UPDATE aircraft SET deleted_at = now() WHERE id = $1", aircraft_id)
        async with inserting.transaction():
            insert = asyncio.create_task(PgTaskRepository(inserting).add(org_id, new_task(aircraft_id)))
            await asyncio.sleep(0.3)
            assert not insert.done(), "the insert should wait for the delete's lock"
            await delete.commit()
            assert await insert is None
    assert await conn.fetchval("SELECT count(*) FROM maintenance_tasks WHERE aircraft_id = $1", aircraft_id) == 0


async def test_a_window_committed_meanwhile_is_refused_naming_the_task_in_the_way(
    pg_pool: asyncpg.Pool, conn: asyncpg.Connection
) -> None:
    org_id = await make_org(conn)
    aircraft_id = await make_aircraft(conn, org_id)
    async with pg_pool.acquire() as first, pg_pool.acquire() as second:
        earlier = first.transaction()
        await earlier.start()
        winner = await PgTaskRepository(first).add(org_id, new_task(aircraft_id))
        assert winner is not None
        async with second.transaction():
            racing = asyncio.create_task(
                PgTaskRepository(second).add(org_id, new_task(aircraft_id, START + timedelta(hours=1)))
            )
            await asyncio.sleep(0.3)
            assert not racing.done(), "the overlapping insert should wait for the first to decide"
            await earlier.commit()
            with pytest.raises(ScheduleOverlap) as refused:
                await racing
    assert refused.value.details["conflicting_task_id"] == str(winner.id)


async def test_another_organizations_or_a_deleted_aircraft_inserts_nothing(conn: asyncpg.Connection) -> None:
    org_id, other_org = await make_org(conn), await make_org(conn)
    foreign = await make_aircraft(conn, other_org)
    deleted = await make_aircraft(conn, org_id, deleted_at=datetime.now(UTC))
    repo = PgTaskRepository(conn)
    async with conn.transaction():
        assert await repo.add(org_id, new_task(foreign)) is None
        assert await repo.add(org_id, new_task(deleted)) is None
        assert await repo.add(org_id, new_task(uuid.uuid4())) is None
    assert await conn.fetchval("SELECT count(*) FROM maintenance_tasks WHERE org_id = $1", org_id) == 0
