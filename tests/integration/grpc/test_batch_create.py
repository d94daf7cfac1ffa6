"""BatchCreateTasks: 1,000 requests with overlaps and bad rows, one result per index; a cancelled stream."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import grpc

from amss.api.grpc.gen import amss_pb2 as pb
from tests.api_support import Tenant
from tests.grpc_support import Stubs, bearer
from tests.integration.factories import make_aircraft, make_task
from tests.integration.grpc.test_task_service import BASE, create_request

COUNT = 1000


def _reason(result: pb.CreateTaskResult) -> str:
    import google.rpc.error_details_pb2 as error_details_pb2

    for detail in result.error.details:
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return info.reason
    return ""


async def test_thousand_with_overlaps_and_bad_rows(stubs: Stubs, conn: asyncpg.Connection, home: Tenant) -> None:
    fleet = [await make_aircraft(conn, home.org_id) for _ in range(10)]
    blocking = BASE + timedelta(hours=10_000)
    existing = {
        await make_task(conn, home.org_id, aircraft, blocking, blocking + timedelta(hours=2)) for aircraft in fleet
    }
    requests: list[pb.CreateTaskRequest] = []
    expected: dict[int, str] = {}  # index -> "ok" | the error code
    for index in range(COUNT):
        aircraft = fleet[index % len(fleet)]
        slot = index // len(fleet)
        if index % 50 == 7:  # a bad row: unspecified type
            request = create_request(aircraft, hours=slot * 3)
            request.type = pb.TASK_TYPE_UNSPECIFIED
            expected[index] = "VALIDATION_ERROR"
        elif index % 50 == 13:  # an overlap with the task the aircraft had before the stream
            request = create_request(aircraft, hours=10_001)
            expected[index] = "SCHEDULE_OVERLAP"
        else:
            request = create_request(aircraft, hours=slot * 3)
            expected[index] = "ok"
        requests.append(request)

    async def stream() -> AsyncIterator[pb.CreateTaskRequest]:
        for request in requests:
            yield request

    results: dict[int, pb.CreateTaskResult] = {}
    async for result in stubs.tasks.BatchCreateTasks(stream(), metadata=bearer(home["scheduler"].token)):
        assert result.index not in results, f"index {result.index} answered twice"
        results[result.index] = result
    assert sorted(results) == list(range(COUNT))
    for index, outcome in expected.items():
        result = results[index]
        if outcome == "ok":
            assert result.WhichOneof("result") == "task", (index, result.error)
        else:
            assert result.WhichOneof("result") == "error", index
            assert _reason(result) == outcome, (index, result.error.message)
            if outcome == "SCHEDULE_OVERLAP":
                assert result.error.code == grpc.StatusCode.FAILED_PRECONDITION.value[0]
            else:
                assert result.error.code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    succeeded = {uuid.UUID(r.task.id) for r in results.values() if r.WhichOneof("result") == "task"}
    stored = {
        row["id"] for row in await conn.fetch("SELECT id FROM maintenance_tasks WHERE aircraft_id = ANY($1)", fleet)
    }
    assert stored == succeeded | existing
    audited = await conn.fetch(
        "SELECT entity_id, count(*) AS n FROM audit_logs WHERE entity_type = 'maintenance_task' AND entity_id = ANY($1)"
        " GROUP BY entity_id",
        list(succeeded),
    )
    assert {row["entity_id"] for row in audited} == succeeded and {row["n"] for row in audited} == {1}


async def test_cancel_mid_stream_leaves_no_half_applied_command(
    stubs: Stubs, conn: asyncpg.Connection, home: Tenant
) -> None:
    aircraft = await make_aircraft(conn, home.org_id)
    more = asyncio.Event()

    async def stream() -> AsyncIterator[pb.CreateTaskRequest]:
        for index in range(200):
            if index == 20:
                await more.wait()  # the rest never comes: the client cancels first
            yield create_request(aircraft, hours=index * 3)

    call = stubs.tasks.BatchCreateTasks(stream(), metadata=bearer(home["scheduler"].token))
    received = 0
    async for _ in call:
        received += 1
        if received == 5:
            call.cancel()
            break
    await asyncio.sleep(0)
    # every task that exists was created whole: with its one audit row; none beyond what was sent
    for _ in range(50):
        rows = await conn.fetch(
            "SELECT t.id, (SELECT count(*) FROM audit_logs a WHERE a.entity_id = t.id) AS audits"
            " FROM maintenance_tasks t WHERE t.aircraft_id = $1",
            aircraft,
        )
        if all(row["audits"] == 1 for row in rows):
            break
        await asyncio.sleep(0.1)
    assert 5 <= len(rows) <= 20
    assert all(row["audits"] == 1 for row in rows)
    events = await conn.fetchval(
        "SELECT count(*) FROM outbox_events WHERE event_type = 'task_created' AND aggregate_id = ANY($1)",
        [row["id"] for row in rows],
    )
    assert events == len(rows)
