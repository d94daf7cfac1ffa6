"""TaskService over gRPC: each method's success and its documented failures (status + amss-error-code)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import grpc
import pytest

from amss.api.grpc.gen import amss_pb2 as pb
from tests.api_support import Tenant
from tests.grpc_support import Stubs, bearer, failure_of, stamp
from tests.integration.factories import make_aircraft

BASE = datetime(2031, 3, 1, 8, tzinfo=UTC)


def create_request(aircraft_id: uuid.UUID, hours: int = 0, length: int = 2, **extra: object) -> pb.CreateTaskRequest:
    start = BASE + timedelta(hours=hours)
    request = pb.CreateTaskRequest(
        aircraft_id=str(aircraft_id),
        type=pb.TASK_TYPE_INSPECTION,
        start_time=stamp(start),
        end_time=stamp(start + timedelta(hours=length)),
    )
    for name, value in extra.items():
        setattr(request, name, value)
    return request


async def test_create_get_and_transition(stubs: Stubs, conn: asyncpg.Connection, home: Tenant) -> None:
    aircraft = await make_aircraft(conn, home.org_id)
    token = home["scheduler"].token
    task, call = await _with_call(
        stubs.tasks.CreateTask(create_request(aircraft, notes="first"), metadata=bearer(token))
    )
    assert task.aircraft_id == str(aircraft) and task.org_id == str(home.org_id)
    assert task.state == pb.TASK_STATE_SCHEDULED and task.type == pb.TASK_TYPE_INSPECTION
    assert task.notes == "first" and not task.HasField("program_id") and task.version == 1
    assert task.start_time.ToDatetime(tzinfo=UTC) == BASE
    assert any(key == "x-request-id" for key, _ in call)
    row = await conn.fetchrow("SELECT state, notes FROM maintenance_tasks WHERE id = $1", uuid.UUID(task.id))
    assert row is not None and (row["state"], row["notes"]) == ("scheduled", "first")
    audits = await conn.fetchval(
        "SELECT count(*) FROM audit_logs WHERE entity_id = $1 AND user_id = $2",
        uuid.UUID(task.id),
        home["scheduler"].user_id,
    )
    assert audits == 1

    got = await stubs.tasks.GetTask(pb.GetTaskRequest(task_id=task.id), metadata=bearer(home["auditor"].token))
    assert got == task

    cancelled = await stubs.tasks.TransitionState(
        pb.TransitionStateRequest(task_id=task.id, state=pb.TASK_STATE_CANCELLED, notes="not needed"),
        metadata=bearer(token),
    )
    assert cancelled.state == pb.TASK_STATE_CANCELLED and cancelled.version == 2


async def _with_call(
    call: grpc.aio.UnaryUnaryCall[pb.CreateTaskRequest, pb.Task],
) -> tuple[pb.Task, list[tuple[str, str | bytes]]]:
    response = await call
    return response, list(await call.initial_metadata() or ())


async def test_request_id_is_echoed(stubs: Stubs, conn: asyncpg.Connection, home: Tenant) -> None:
    rid = str(uuid.uuid4())
    call = stubs.tasks.GetTask(
        pb.GetTaskRequest(task_id=str(uuid.uuid4())), metadata=(*bearer(home["auditor"].token), ("x-request-id", rid))
    )
    with pytest.raises(grpc.aio.AioRpcError):
        await call
    assert ("x-request-id", rid) in list(await call.initial_metadata() or ())


async def test_overlap_is_failed_precondition(stubs: Stubs, conn: asyncpg.Connection, home: Tenant) -> None:
    aircraft = await make_aircraft(conn, home.org_id)
    meta = bearer(home["scheduler"].token)
    await stubs.tasks.CreateTask(create_request(aircraft), metadata=meta)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.tasks.CreateTask(create_request(aircraft, hours=1), metadata=meta)
    failure = failure_of(caught.value)
    assert (failure.status, failure.code, failure.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "SCHEDULE_OVERLAP",
        "SCHEDULE_OVERLAP",
    )
    assert await conn.fetchval("SELECT count(*) FROM maintenance_tasks WHERE aircraft_id = $1", aircraft) == 1


async def test_invalid_transition(stubs: Stubs, conn: asyncpg.Connection, home: Tenant) -> None:
    aircraft = await make_aircraft(conn, home.org_id)
    meta = bearer(home["scheduler"].token)
    task = await stubs.tasks.CreateTask(create_request(aircraft), metadata=meta)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.tasks.TransitionState(
            pb.TransitionStateRequest(task_id=task.id, state=pb.TASK_STATE_COMPLETED), metadata=meta
        )
    failure = failure_of(caught.value)
    assert (failure.status, failure.code) == (grpc.StatusCode.FAILED_PRECONDITION, "CONFLICT")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": pb.TASK_TYPE_UNSPECIFIED}, "type"),
        ({"type": 99}, "type"),
        ({"aircraft_id": "not-a-uuid"}, "aircraft_id"),
        ({"notes": "a\x00b"}, "notes"),
    ],
)
async def test_bad_input_is_invalid_argument(
    stubs: Stubs, conn: asyncpg.Connection, home: Tenant, change: dict[str, object], field: str
) -> None:
    aircraft = await make_aircraft(conn, home.org_id)
    request = create_request(aircraft)
    for name, value in change.items():
        setattr(request, name, value)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.tasks.CreateTask(request, metadata=bearer(home["scheduler"].token))
    failure = failure_of(caught.value)
    assert (failure.status, failure.code) == (grpc.StatusCode.INVALID_ARGUMENT, "VALIDATION_ERROR")
    assert field in failure.message
    assert await conn.fetchval("SELECT count(*) FROM maintenance_tasks WHERE aircraft_id = $1", aircraft) == 0


async def test_missing_times_and_reversed_window(stubs: Stubs, conn: asyncpg.Connection, home: Tenant) -> None:
    aircraft = await make_aircraft(conn, home.org_id)
    meta = bearer(home["scheduler"].token)
    request = create_request(aircraft)
    request.ClearField("end_time")
    reversed_window = create_request(aircraft, length=-1)
    for bad in (request, reversed_window):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stubs.tasks.CreateTask(bad, metadata=meta)
        assert failure_of(caught.value).code == "VALIDATION_ERROR"


async def test_unknown_and_foreign_ids_are_not_found(
    stubs: Stubs, conn: asyncpg.Connection, home: Tenant, elsewhere: Tenant
) -> None:
    theirs = await make_aircraft(conn, elsewhere.org_id)
    their_task = await stubs.tasks.CreateTask(create_request(theirs), metadata=bearer(elsewhere["scheduler"].token))
    meta = bearer(home["scheduler"].token)
    for task_id in (str(uuid.uuid4()), their_task.id):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stubs.tasks.GetTask(pb.GetTaskRequest(task_id=task_id), metadata=meta)
        assert (failure_of(caught.value).status, failure_of(caught.value).code) == (
            grpc.StatusCode.NOT_FOUND,
            "NOT_FOUND",
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stubs.tasks.TransitionState(
                pb.TransitionStateRequest(task_id=task_id, state=pb.TASK_STATE_CANCELLED), metadata=meta
            )
        assert failure_of(caught.value).status == grpc.StatusCode.NOT_FOUND
    # creating on another organization's aircraft: its aircraft does not exist here
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.tasks.CreateTask(create_request(theirs, hours=10), metadata=meta)
    assert failure_of(caught.value).status in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT)
    assert await conn.fetchval("SELECT count(*) FROM maintenance_tasks WHERE aircraft_id = $1", theirs) == 1


async def test_missing_or_bad_token_is_unauthenticated(stubs: Stubs, conn: asyncpg.Connection, home: Tenant) -> None:
    request = pb.GetTaskRequest(task_id=str(uuid.uuid4()))
    for metadata in ((), (("authorization", "Bearer nonsense"),), (("authorization", "Basic abc"),)):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stubs.tasks.GetTask(request, metadata=metadata)
        failure = failure_of(caught.value)
        assert (failure.status, failure.code, failure.reason) == (
            grpc.StatusCode.UNAUTHENTICATED,
            "UNAUTHORIZED",
            "UNAUTHORIZED",
        )


async def test_wrong_role_is_permission_denied(stubs: Stubs, conn: asyncpg.Connection, home: Tenant) -> None:
    aircraft = await make_aircraft(conn, home.org_id)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.tasks.CreateTask(create_request(aircraft), metadata=bearer(home["auditor"].token))
    failure = failure_of(caught.value)
    assert (failure.status, failure.code) == (grpc.StatusCode.PERMISSION_DENIED, "FORBIDDEN")
    assert await conn.fetchval("SELECT count(*) FROM maintenance_tasks WHERE aircraft_id = $1", aircraft) == 0


async def test_x_org_id(stubs: Stubs, conn: asyncpg.Connection, home: Tenant, elsewhere: Tenant) -> None:
    aircraft = await make_aircraft(conn, elsewhere.org_id)
    as_admin = (*bearer(home["admin"].token), ("x-org-id", str(elsewhere.org_id)))
    task = await stubs.tasks.CreateTask(create_request(aircraft), metadata=as_admin)
    assert task.org_id == str(elsewhere.org_id)
    as_scheduler = (*bearer(home["scheduler"].token), ("x-org-id", str(elsewhere.org_id)))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.tasks.GetTask(pb.GetTaskRequest(task_id=task.id), metadata=as_scheduler)
    assert failure_of(caught.value).status == grpc.StatusCode.PERMISSION_DENIED
    for bad, code in (("not-a-uuid", "VALIDATION_ERROR"), (str(uuid.uuid4()), "NOT_FOUND")):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stubs.tasks.GetTask(
                pb.GetTaskRequest(task_id=task.id), metadata=(*bearer(home["admin"].token), ("x-org-id", bad))
            )
        assert failure_of(caught.value).code == code
