"""InventoryService over gRPC: ReserveParts and ReleaseParts, each all or nothing, under REST's per-item rules."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import grpc
import pytest

from amss.api.grpc.gen import amss_pb2 as pb
from tests.api_support import Tenant
from tests.grpc_support import Stubs, bearer, failure_of
from tests.integration.factories import make_aircraft, make_part_item, make_task


async def _task(conn: asyncpg.Connection, org_id: uuid.UUID) -> uuid.UUID:
    aircraft = await make_aircraft(conn, org_id)
    start = datetime.now(UTC) + timedelta(days=2)
    return await make_task(conn, org_id, aircraft, start, start + timedelta(hours=2))


async def _active(conn: asyncpg.Connection, task_id: uuid.UUID) -> int:
    count: int = await conn.fetchval(
        "SELECT count(*) FROM part_reservations WHERE task_id = $1 AND state = 'reserved'", task_id
    )
    return count


async def test_reserve_and_release_several(stubs: Stubs, conn: asyncpg.Connection, home: Tenant) -> None:
    task = await _task(conn, home.org_id)
    items = [await make_part_item(conn, home.org_id) for _ in range(3)]
    meta = bearer(home["mechanic"].token)
    reserved = await stubs.inventory.ReserveParts(
        pb.ReservePartsRequest(task_id=str(task), part_item_ids=[str(item) for item in items]), metadata=meta
    )
    assert sorted(r.part_item_id for r in reserved.reservations) == sorted(str(item) for item in items)
    assert all(r.state == pb.RESERVATION_STATE_RESERVED and r.task_id == str(task) for r in reserved.reservations)
    assert await _active(conn, task) == 3
    audits = await conn.fetchval(
        "SELECT count(*) FROM audit_logs WHERE entity_type = 'part_reservation' AND entity_id = ANY($1::uuid[])",
        [uuid.UUID(r.id) for r in reserved.reservations],
    )
    assert audits == 3

    released = await stubs.inventory.ReleaseParts(
        pb.ReleasePartsRequest(reservation_ids=[r.id for r in reserved.reservations]), metadata=meta
    )
    assert {r.state for r in released.reservations} == {pb.RESERVATION_STATE_RELEASED}
    assert await _active(conn, task) == 0


async def test_reserve_is_all_or_nothing(stubs: Stubs, conn: asyncpg.Connection, home: Tenant) -> None:
    task = await _task(conn, home.org_id)
    other_task = await _task(conn, home.org_id)
    free = [await make_part_item(conn, home.org_id) for _ in range(2)]
    taken = await make_part_item(conn, home.org_id)
    meta = bearer(home["scheduler"].token)
    await stubs.inventory.ReserveParts(
        pb.ReservePartsRequest(task_id=str(other_task), part_item_ids=[str(taken)]), metadata=meta
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.inventory.ReserveParts(
            pb.ReservePartsRequest(task_id=str(task), part_item_ids=[str(free[0]), str(taken), str(free[1])]),
            metadata=meta,
        )
    failure = failure_of(caught.value)
    assert failure.status == grpc.StatusCode.FAILED_PRECONDITION and failure.code == "CONFLICT", failure
    assert await _active(conn, task) == 0, "a refused item left others reserved"


@pytest.mark.parametrize("ids", [[], ["nope"], ["same", "same"]])
async def test_bad_lists_are_invalid_argument(
    stubs: Stubs, conn: asyncpg.Connection, home: Tenant, ids: list[str]
) -> None:
    task = await _task(conn, home.org_id)
    item = str(await make_part_item(conn, home.org_id))
    part_item_ids = [item if value == "same" else value for value in ids]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.inventory.ReserveParts(
            pb.ReservePartsRequest(task_id=str(task), part_item_ids=part_item_ids),
            metadata=bearer(home["scheduler"].token),
        )
    assert failure_of(caught.value).code == "VALIDATION_ERROR"
    assert await _active(conn, task) == 0


async def test_foreign_ids_are_not_found(
    stubs: Stubs, conn: asyncpg.Connection, home: Tenant, elsewhere: Tenant
) -> None:
    their_task = await _task(conn, elsewhere.org_id)
    their_item = await make_part_item(conn, elsewhere.org_id)
    mine = await make_part_item(conn, home.org_id)
    meta = bearer(home["scheduler"].token)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.inventory.ReserveParts(
            pb.ReservePartsRequest(task_id=str(their_task), part_item_ids=[str(mine)]), metadata=meta
        )
    assert failure_of(caught.value).status == grpc.StatusCode.NOT_FOUND
    my_task = await _task(conn, home.org_id)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.inventory.ReserveParts(
            pb.ReservePartsRequest(task_id=str(my_task), part_item_ids=[str(their_item)]), metadata=meta
        )
    assert failure_of(caught.value).code == "VALIDATION_ERROR"  # REST's 400 for a foreign part item id
    assert await _active(conn, my_task) == 0
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.inventory.ReleaseParts(pb.ReleasePartsRequest(reservation_ids=[str(uuid.uuid4())]), metadata=meta)
    assert failure_of(caught.value).status == grpc.StatusCode.NOT_FOUND


async def test_auditor_may_not_reserve(stubs: Stubs, conn: asyncpg.Connection, home: Tenant) -> None:
    task = await _task(conn, home.org_id)
    item = await make_part_item(conn, home.org_id)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stubs.inventory.ReserveParts(
            pb.ReservePartsRequest(task_id=str(task), part_item_ids=[str(item)]), metadata=bearer(home["auditor"].token)
        )
    assert failure_of(caught.value).status == grpc.StatusCode.PERMISSION_DENIED
