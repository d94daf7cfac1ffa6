"""AuditService.LogAction, ProgramService.GenerateTasks, idempotency over gRPC, health and reflection."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import grpc
import pytest
from google.protobuf import struct_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from amss.api.grpc.gen import amss_pb2 as pb
from tests.api_support import Tenant
from tests.grpc_support import Stubs, bearer, failure_of
from tests.integration.factories import make_aircraft, make_program
from tests.integration.grpc.test_task_service import create_request


def _details(**values: Any) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


async def test_log_action_takes_who_from_the_call(stubs: Stubs, conn: asyncpg.Connection, home: Tenant) -> None:
    entity = uuid.uuid4()
    rid = str(uuid.uuid4())
    member = home["mechanic"]
    metadata = (*bearer(member.token), ("x-request-id", rid))
    entry = await stubs.audit.LogAction(
        pb.LogActionRequest(
            entity_type="work_order", entity_id=str(entity), action=pb.AUDIT_ACTION_UPDATE, details=_details(ref="WO-7")
        ),
        metadata=metadata,
    )
    assert (entry.user_id, entry.org_id, entry.request_id) == (str(member.user_id), str(home.org_id), rid)
    assert entry.user_agent.startswith("grpc-python") and entry.ip_address == "127.0.0.1"
    row = await conn.fetchrow("SELECT * FROM audit_logs WHERE id = $1", uuid.UUID(entry.id))
    assert row is not None
    assert (row["user_id"], row["org_id"], str(row["request_id"]), row["action"]) == (
        member.user_id,
        home.org_id,
        rid,
        "update",
    )
    assert row["details"]["ref"] == "WO-7" and row["user_agent"] == entry.user_agent


async def test_log_action_refuses_forged_actor_and_auditors(
    stubs: Stubs, conn: asyncpg.Connection, home: Tenant
) -> None:
    entity = uuid.uuid4()
    forged = pb.LogActionRequest(
        entity_type="x", entity_id=str(entity), action=pb.AUDIT_ACTION_CREATE, details=_details(actor={"user": "ceo"})
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.audit.LogAction(forged, metadata=bearer(home["scheduler"].token))
    assert failure_of(caught.value).code == "VALIDATION_ERROR"
    plain = pb.LogActionRequest(entity_type="x", entity_id=str(entity), action=pb.AUDIT_ACTION_CREATE)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.audit.LogAction(plain, metadata=bearer(home["auditor"].token))
    assert failure_of(caught.value).status == grpc.StatusCode.PERMISSION_DENIED
    unspecified = pb.LogActionRequest(entity_type="x", entity_id=str(entity))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.audit.LogAction(unspecified, metadata=bearer(home["scheduler"].token))
    assert failure_of(caught.value).status == grpc.StatusCode.INVALID_ARGUMENT
    assert await conn.fetchval("SELECT count(*) FROM audit_logs WHERE entity_id = $1", entity) == 0


async def test_generate_tasks_once(stubs: Stubs, conn: asyncpg.Connection, home: Tenant) -> None:
    aircraft = await make_aircraft(conn, home.org_id)
    program = await make_program(
        conn, home.org_id, aircraft_id=aircraft, last_performed=datetime.now(UTC) - timedelta(days=40)
    )
    meta = bearer(home["scheduler"].token)
    first = await stubs.programs.GenerateTasks(pb.GenerateTasksRequest(program_id=str(program)), metadata=meta)
    assert [task.program_id for task in first.tasks] == [str(program)]
    again = await stubs.programs.GenerateTasks(pb.GenerateTasksRequest(aircraft_id=str(aircraft)), metadata=meta)
    assert list(again.tasks) == []
    assert await conn.fetchval("SELECT count(*) FROM maintenance_tasks WHERE program_id = $1", program) == 1
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.programs.GenerateTasks(pb.GenerateTasksRequest(program_id=str(uuid.uuid4())), metadata=meta)
    assert failure_of(caught.value).status == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.programs.GenerateTasks(pb.GenerateTasksRequest(), metadata=bearer(home["mechanic"].token))
    assert failure_of(caught.value).status == grpc.StatusCode.PERMISSION_DENIED


async def test_idempotency_replays_and_refuses_reuse(stubs: Stubs, conn: asyncpg.Connection, home: Tenant) -> None:
    aircraft = await make_aircraft(conn, home.org_id)
    meta = bearer(home["scheduler"].token, idempotency_key=f"k-{uuid.uuid4()}")
    request = create_request(aircraft)
    first = await stubs.tasks.CreateTask(request, metadata=meta)
    call = stubs.tasks.CreateTask(request, metadata=meta)
    second = await call
    assert second == first
    assert ("idempotent-replayed", "true") in list(await call.trailing_metadata() or ())
    assert await conn.fetchval("SELECT count(*) FROM maintenance_tasks WHERE aircraft_id = $1", aircraft) == 1
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.tasks.CreateTask(create_request(aircraft, hours=10), metadata=meta)
    failure = failure_of(caught.value)
    assert (failure.status, failure.code) == (grpc.StatusCode.ABORTED, "IDEMPOTENCY_KEY_REUSED")
    # a rejected request is stored too: its repeat gets the same refusal without running again
    overlap_meta = bearer(home["scheduler"].token, idempotency_key=f"k-{uuid.uuid4()}")
    for _ in range(2):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stubs.tasks.CreateTask(create_request(aircraft, hours=1), metadata=overlap_meta)
        assert failure_of(caught.value).code == "SCHEDULE_OVERLAP"
    bad_key = bearer(home["scheduler"].token, idempotency_key="has space")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.tasks.CreateTask(create_request(aircraft, hours=20), metadata=bad_key)
    assert failure_of(caught.value).code == "VALIDATION_ERROR"


async def test_health_and_reflection_need_no_token(stubs: Stubs) -> None:
    # the health and reflection stubs are typed for the blocking channel only
    health: Any = health_pb2_grpc.HealthStub(stubs.channel)
    for service in ("", "amss.v1.TaskService", "amss.v1.InventoryService", "amss.v1.AuditService"):
        answer = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert answer.status == health_pb2.HealthCheckResponse.SERVING, service
    reflection: Any = reflection_pb2_grpc.ServerReflectionStub(stubs.channel)  # type: ignore[arg-type]
    responses = reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
    names = set()
    async for response in responses:
        names |= {service.name for service in response.list_services_response.service}
    expected = {f"amss.v1.{name}" for name in pb.DESCRIPTOR.services_by_name}
    assert expected == {
        "amss.v1.TaskService",
        "amss.v1.InventoryService",
        "amss.v1.AuditService",
        "amss.v1.ProgramService",
    }
    assert expected <= names and "grpc.health.v1.Health" in names
