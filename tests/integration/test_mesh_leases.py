"""Partition leases and worker membership against a real Redis: one holder at a time, epochs that grow,
and no worker can extend or delete a lease that is not its own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from amss.actors.leases import Leases
from amss.actors.membership import Membership
from amss.infra.redis.keys import KeySpace
from tests.mesh_support import drop_key_space, mesh_prefix, text, wait_until

TTL_MS = 3000


@pytest.fixture
async def keys(redis_client: redis.Redis) -> AsyncIterator[KeySpace]:
    space = KeySpace(mesh_prefix())
    yield space
    await drop_key_space(redis_client, space)


def leases(client: redis.Redis, keys: KeySpace, worker_id: str, ttl_ms: int = TTL_MS) -> Leases:
    return Leases(client, keys, worker_id, ttl_ms)


async def holder(client: redis.Redis, keys: KeySpace, partition: int) -> str | None:
    value = await client.get(keys.partition_lease(partition))
    return text(value) if value is not None else None


async def test_of_two_workers_only_one_acquires_a_partition(redis_client: redis.Redis, keys: KeySpace) -> None:
    a, b = leases(redis_client, keys, "worker-a"), leases(redis_client, keys, "worker-b")
    assert await a.acquire(3) == 1
    assert await b.acquire(3) is None
    assert await holder(redis_client, keys, 3) == "worker-a:1"
    assert await b.acquire(4) == 1, "partitions are leased independently"
    ttl = await redis_client.pttl(keys.partition_lease(3))
    assert 0 < ttl <= TTL_MS


async def test_every_acquisition_bumps_the_epoch(redis_client: redis.Redis, keys: KeySpace) -> None:
    a, b = leases(redis_client, keys, "worker-a"), leases(redis_client, keys, "worker-b")
    assert await a.acquire(0) == 1
    assert await a.release(0, 1)
    assert await b.acquire(0) == 2
    assert await b.release(0, 2)
    assert await a.acquire(0) == 3
    assert await holder(redis_client, keys, 0) == "worker-a:3"


async def test_a_non_holder_cannot_renew(redis_client: redis.Redis, keys: KeySpace) -> None:
    a, b = leases(redis_client, keys, "worker-a"), leases(redis_client, keys, "worker-b")
    epoch = await a.acquire(1)
    assert epoch == 1
    assert not await b.renew(1, epoch)
    assert not await a.renew(1, epoch + 1), "a wrong epoch is not the holder either"
    assert await a.renew(1, epoch)


async def test_a_non_holder_cannot_release(redis_client: redis.Redis, keys: KeySpace) -> None:
    a, b = leases(redis_client, keys, "worker-a"), leases(redis_client, keys, "worker-b")
    epoch = await a.acquire(2)
    assert epoch is not None
    assert not await b.release(2, epoch)
    assert not await a.release(2, epoch + 1)
    assert await holder(redis_client, keys, 2) == f"worker-a:{epoch}"


async def test_an_old_epoch_cannot_renew_or_release_the_lease_it_lost(
    redis_client: redis.Redis, keys: KeySpace
) -> None:
    a = leases(redis_client, keys, "worker-a", ttl_ms=150)
    b = leases(redis_client, keys, "worker-b")
    assert await a.acquire(5) == 1

    async def taken_over() -> bool:
        return await b.acquire(5) is not None

    await wait_until(taken_over, "the expired lease to be taken over", within=5, step=0.05)
    assert await holder(redis_client, keys, 5) == "worker-b:2"
    assert not await a.renew(5, 1)
    assert not await a.release(5, 1)
    assert await holder(redis_client, keys, 5) == "worker-b:2"


async def test_membership_lists_live_workers_and_forgets_leavers_and_the_silent(
    redis_client: redis.Redis, keys: KeySpace
) -> None:
    steady = Membership(redis_client, keys, "worker-b", TTL_MS)
    leaver = Membership(redis_client, keys, "worker-a", TTL_MS)
    silent = Membership(redis_client, keys, "worker-c", 150)
    assert await leaver.heartbeat() == ["worker-a"]
    assert await silent.heartbeat() == ["worker-a", "worker-c"]
    assert await steady.heartbeat() == ["worker-a", "worker-b", "worker-c"]
    await leaver.leave()

    async def only_steady_left() -> bool:
        return await steady.heartbeat() == ["worker-b"]

    await wait_until(only_steady_left, "the leaver and the silent worker to drop out", within=5, step=0.05)
