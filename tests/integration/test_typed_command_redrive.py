"""A typed command's stored payload is what a worker executes: an accepted row the redriver re-enqueues
is read back into the same model and runs, with its outcome and effects as a direct submission's."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import orjson

from amss.actors.node import MeshWorker
from amss.app.commands.envelope import Command, record_actor
from amss.app.tasks.commands import CreateTask, UpdateTask
from amss.domain.enums import Role, TaskType
from amss.domain.principal import Actor, Principal
from amss.infra.postgres.commands_repo import insert_command
from tests.api_support import Tenant
from tests.integration.factories import make_aircraft, make_task, soon
from tests.mesh_support import wait_until


def _accepted(tenant: Tenant, role: Role, body: CreateTask | UpdateTask) -> Command:
    member = tenant[role]
    acting = Actor(principal=Principal(member.user_id, tenant.org_id, role, org_id=tenant.org_id))
    return Command(
        id=uuid.uuid4(),
        org_id=tenant.org_id,
        actor=body.actor(tenant.org_id),
        type=body.TYPE,
        payload=orjson.loads(orjson.dumps(body.payload())),
        principal=record_actor(acting),
    )


async def _redriven(conn: asyncpg.Connection, worker: MeshWorker, command: Command) -> asyncpg.Record:
    await insert_command(conn, command)
    # as if Redis had lost its stream entry long ago
    await conn.execute("UPDATE commands SET updated_at = updated_at - interval '1 day' WHERE id = $1", command.id)
    assert await worker.redrive() >= 1

    async def finished() -> bool:
        status = await conn.fetchval("SELECT status FROM commands WHERE id = $1", command.id)
        return bool(status != "accepted")

    await wait_until(finished, "the redriven command to finish", within=20, step=0.05)
    row = await conn.fetchrow("SELECT status, outcome_view::text AS view FROM commands WHERE id = $1", command.id)
    assert row is not None
    return row


async def test_an_accepted_create_redriven_to_a_worker_creates_the_task(
    conn: asyncpg.Connection, crew: Tenant, worker: MeshWorker
) -> None:
    aircraft_id = await make_aircraft(conn, crew.org_id)
    start = soon(48).replace(microsecond=0)
    body = CreateTask(
        aircraft_id=aircraft_id, type=TaskType.REPAIR, start_time=start, end_time=start + timedelta(hours=2)
    )
    row = await _redriven(conn, worker, _accepted(crew, Role.SCHEDULER, body))
    assert row["status"] == "succeeded"
    view = orjson.loads(row["view"])
    task = await conn.fetchrow(
        "SELECT aircraft_id, type, start_time FROM maintenance_tasks WHERE id = $1", uuid.UUID(view["id"])
    )
    assert task is not None and (task["aircraft_id"], task["type"], task["start_time"]) == (
        aircraft_id,
        "repair",
        start,
    )


async def test_an_accepted_patch_redriven_keeps_unset_apart_from_null(
    conn: asyncpg.Connection, crew: Tenant, worker: MeshWorker
) -> None:
    aircraft_id = await make_aircraft(conn, crew.org_id)
    start = soon(72)
    task_id = await make_task(conn, crew.org_id, aircraft_id, start, start + timedelta(hours=1), notes="clear me")
    changes = {"notes": None}
    body = UpdateTask.model_validate({"aircraft_id": aircraft_id, "task_id": task_id, "changes": changes})
    row = await _redriven(conn, worker, _accepted(crew, Role.SCHEDULER, body))
    assert row["status"] == "succeeded", row
    task = await conn.fetchrow("SELECT notes, type, start_time FROM maintenance_tasks WHERE id = $1", task_id)
    # notes given as null: cleared; type and times left out: unchanged
    assert task is not None and (task["notes"], task["type"], task["start_time"]) == (None, "inspection", start)
