"""The RBAC and tenant-isolation matrices over every amss.v1 method, from the one RBAC table.

Every method of the proto's services has a MethodSpec (amss/api/grpc/methods.py) and a sample here.
Each (method, role): an allowed call is neither PERMISSION_DENIED nor UNAUTHENTICATED; a refused one
is PERMISSION_DENIED + FORBIDDEN and changes nothing. Each method that names an object, called by
a member of another organization, is NOT_FOUND (a part item id in a body: INVALID_ARGUMENT, as
REST's 400) and changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import grpc
import pytest

from amss.api.grpc.gen import amss_pb2 as pb
from amss.api.grpc.methods import BY_NAME, METHODS, MethodSpec
from amss.auth.rbac import is_allowed, is_writer
from amss.domain.enums import Role
from tests.api_support import Tenant
from tests.grpc_support import Stubs, bearer, failure_of
from tests.integration.factories import make_aircraft, make_part_item, make_program, make_reservation, make_task
from tests.integration.grpc.test_task_service import create_request

Snapshot = Callable[[asyncpg.Connection], Awaitable[Any]]


@dataclass(frozen=True)
class Sample:
    run: Callable[[Stubs, tuple[tuple[str, str], ...]], Awaitable[Any]]
    snapshot: Snapshot


def _count(sql: str, *args: Any) -> Snapshot:
    async def read(conn: asyncpg.Connection) -> Any:
        return await conn.fetchval(sql, *args)

    return read


async def _scheduled_task(conn: asyncpg.Connection, org_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    aircraft = await make_aircraft(conn, org_id)
    start = datetime.now(UTC) + timedelta(days=3)
    return aircraft, await make_task(conn, org_id, aircraft, start, start + timedelta(hours=2))


async def _sample(name: str, conn: asyncpg.Connection, owner: Tenant) -> Sample:
    org = owner.org_id
    if name == "CreateTask":
        aircraft = await make_aircraft(conn, org)
        return Sample(
            lambda s, m: s.tasks.CreateTask(create_request(aircraft), metadata=m),
            _count("SELECT count(*) FROM maintenance_tasks WHERE aircraft_id = $1", aircraft),
        )
    if name == "TransitionState":
        # starting is a transition every role with T may make (cancelling is scheduler or admin only)
        aircraft = await make_aircraft(conn, org, status="grounded")
        start = datetime.now(UTC) + timedelta(minutes=2)
        task = await make_task(
            conn, org, aircraft, start, start + timedelta(hours=2), assigned_mechanic_id=owner["mechanic"].user_id
        )
        transition = pb.TransitionStateRequest(task_id=str(task), state=pb.TASK_STATE_IN_PROGRESS)
        return Sample(
            lambda s, m: s.tasks.TransitionState(transition, metadata=m),
            _count("SELECT version FROM maintenance_tasks WHERE id = $1", task),
        )
    if name == "GetTask":
        _, task = await _scheduled_task(conn, org)
        return Sample(lambda s, m: s.tasks.GetTask(pb.GetTaskRequest(task_id=str(task)), metadata=m), _nothing)
    if name == "BatchCreateTasks":
        aircraft = await make_aircraft(conn, org)

        async def batch(s: Stubs, m: tuple[tuple[str, str], ...]) -> list[pb.CreateTaskResult]:
            async def one() -> AsyncIterator[pb.CreateTaskRequest]:
                yield create_request(aircraft)

            return [result async for result in s.tasks.BatchCreateTasks(one(), metadata=m)]

        return Sample(batch, _count("SELECT count(*) FROM maintenance_tasks WHERE aircraft_id = $1", aircraft))
    if name == "ReserveParts":
        _, task = await _scheduled_task(conn, org)
        item = await make_part_item(conn, org)
        reserve = pb.ReservePartsRequest(task_id=str(task), part_item_ids=[str(item)])
        return Sample(
            lambda s, m: s.inventory.ReserveParts(reserve, metadata=m),
            _count("SELECT count(*) FROM part_reservations WHERE task_id = $1", task),
        )
    if name == "ReleaseParts":
        _, task = await _scheduled_task(conn, org)
        reservation = await make_reservation(conn, org, task, await make_part_item(conn, org))
        release = pb.ReleasePartsRequest(reservation_ids=[str(reservation)])
        return Sample(
            lambda s, m: s.inventory.ReleaseParts(release, metadata=m),
            _count("SELECT state FROM part_reservations WHERE id = $1", reservation),
        )
    if name == "LogAction":
        entity = uuid.uuid4()
        log = pb.LogActionRequest(entity_type="work_order", entity_id=str(entity), action=pb.AUDIT_ACTION_UPDATE)
        return Sample(
            lambda s, m: s.audit.LogAction(log, metadata=m),
            _count("SELECT count(*) FROM audit_logs WHERE entity_id = $1", entity),
        )
    if name == "GenerateTasks":
        aircraft = await make_aircraft(conn, org)
        program = await make_program(
            conn, org, aircraft_id=aircraft, last_performed=datetime.now(UTC) - timedelta(days=40)
        )
        generate = pb.GenerateTasksRequest(program_id=str(program))
        return Sample(
            lambda s, m: s.programs.GenerateTasks(generate, metadata=m),
            _count("SELECT count(*) FROM maintenance_tasks WHERE program_id = $1", program),
        )
    raise AssertionError(f"no sample for {name}")


async def _nothing(_: asyncpg.Connection) -> Any:
    return None


def may_call(role: Role, spec: MethodSpec) -> bool:
    resource, action = spec.permission
    return is_allowed(role, resource, action) and (is_writer(role) or not spec.writers_only)


def test_every_proto_method_has_a_spec() -> None:
    declared = {
        f"/{service.full_name}/{method.name}"
        for service in pb.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    }
    assert declared == set(BY_NAME)


MATRIX = [(spec.method, role) for spec in METHODS for role in Role]


@pytest.mark.parametrize(("method", "role"), MATRIX, ids=[f"{m}-{r.value}" for m, r in MATRIX])
async def test_role_on_method(stubs: Stubs, conn: asyncpg.Connection, home: Tenant, method: str, role: Role) -> None:
    spec = next(spec for spec in METHODS if spec.method == method)
    sample = await _sample(method, conn, home)
    before = await sample.snapshot(conn)
    refused: grpc.aio.AioRpcError | None = None
    try:
        answer = await sample.run(stubs, bearer(home[role].token))
    except grpc.aio.AioRpcError as exc:
        refused = exc
    after = await sample.snapshot(conn)
    if may_call(role, spec):
        assert refused is None, failure_of(refused)
        if spec.streaming:
            assert [result.WhichOneof("result") for result in answer] == ["task"], answer
        if sample.snapshot is not _nothing:
            assert after != before, "an allowed write changed nothing"
    else:
        assert refused is not None, f"{role.value} may not call {method}"
        failure = failure_of(refused)
        assert (failure.status, failure.code) == (grpc.StatusCode.PERMISSION_DENIED, "FORBIDDEN"), failure
        assert after == before, "a refused call changed state"


TENANT_SCOPED = [spec.method for spec in METHODS if spec.method not in ("CreateTask", "BatchCreateTasks", "LogAction")]


@pytest.mark.parametrize("method", TENANT_SCOPED)
async def test_other_organizations_objects_are_not_found(
    stubs: Stubs, conn: asyncpg.Connection, home: Tenant, elsewhere: Tenant, method: str
) -> None:
    sample = await _sample(method, conn, elsewhere)
    before = await sample.snapshot(conn)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await sample.run(stubs, bearer(home["admin" if method == "GenerateTasks" else "scheduler"].token))
    failure = failure_of(caught.value)
    assert (failure.status, failure.code) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND"), failure
    assert await sample.snapshot(conn) == before


async def test_creates_land_in_the_callers_organization(
    stubs: Stubs, conn: asyncpg.Connection, home: Tenant, elsewhere: Tenant
) -> None:
    theirs = await make_aircraft(conn, elsewhere.org_id)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.tasks.CreateTask(create_request(theirs), metadata=bearer(home["scheduler"].token))
    assert failure_of(caught.value).status in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT)
    entry = await stubs.audit.LogAction(
        pb.LogActionRequest(entity_type="x", entity_id=str(uuid.uuid4()), action=pb.AUDIT_ACTION_CREATE),
        metadata=bearer(home["scheduler"].token),
    )
    assert entry.org_id == str(home.org_id)
    # the same idempotency key in another organization is another key: no replay of home's answer
    key = f"k-{uuid.uuid4()}"
    mine = await make_aircraft(conn, home.org_id)
    first = await stubs.tasks.CreateTask(
        create_request(mine), metadata=bearer(home["scheduler"].token, idempotency_key=key)
    )
    ours = await make_aircraft(conn, elsewhere.org_id)
    other = await stubs.tasks.CreateTask(
        create_request(ours), metadata=bearer(elsewhere["scheduler"].token, idempotency_key=key)
    )
    assert other.id != first.id and other.org_id == str(elsewhere.org_id)


@pytest.mark.parametrize("method", [spec.method for spec in METHODS])
async def test_every_method_needs_a_token(stubs: Stubs, conn: asyncpg.Connection, home: Tenant, method: str) -> None:
    sample = await _sample(method, conn, home)
    before = await sample.snapshot(conn)
    for metadata in ((), (("authorization", "Bearer not-a-jwt"),)):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await sample.run(stubs, metadata)
        failure = failure_of(caught.value)
        assert (failure.status, failure.code, failure.reason) == (
            grpc.StatusCode.UNAUTHENTICATED,
            "UNAUTHORIZED",
            "UNAUTHORIZED",
        )
    assert await sample.snapshot(conn) == before


async def test_unspecified_state_is_invalid_argument(stubs: Stubs, conn: asyncpg.Connection, home: Tenant) -> None:
    _, task = await _scheduled_task(conn, home.org_id)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.tasks.TransitionState(
            pb.TransitionStateRequest(task_id=str(task), state=pb.TASK_STATE_UNSPECIFIED),
            metadata=bearer(home["scheduler"].token),
        )
    assert (failure_of(caught.value).status, failure_of(caught.value).code) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "VALIDATION_ERROR",
    )
