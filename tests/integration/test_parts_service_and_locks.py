"""Below HTTP: the Redis lock's token semantics, and that the database alone keeps one reservation per item.

The lock test drives amss/infra/redis/locks.py against a real Redis: a second holder is refused,
a stale token never frees another holder's lock, the TTL frees an abandoned one. The service test
reserves one item from twenty tasks at once with a lock that never refuses, so only the row lock
and the one-active-reservation index stand between them: exactly one succeeds, the rest are
Conflict (never a raw database error).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg
import pytest
import redis.asyncio as redis

from amss.app.parts.service import PartsService
from amss.app.ports import UnitOfWork
from amss.domain.enums import Role
from amss.domain.errors import Conflict
from amss.domain.principal import Actor, Principal
from amss.infra.postgres.uow import PostgresUnitOfWork
from amss.infra.redis.keys import KeySpace
from amss.infra.redis.locks import RedisLock, RedisPartItemLocks
from tests.integration.factories import make_aircraft, make_org, make_part_item, make_task, make_user, soon


async def test_redis_lock_tokens_ttl_and_compare_and_delete(redis_client: redis.Redis) -> None:
    key = KeySpace(f"locks-{uuid.uuid4().hex[:8]}").lock("part_item", "x")
    first = RedisLock(redis_client, key, ttl_ms=300)
    token = await first.acquire()
    assert token is not None
    # another holder (another object, as every task must have) is refused while it is held
    assert await RedisLock(redis_client, key, ttl_ms=300).acquire(wait=0.05) is None
    # a wrong token frees nothing
    assert await first.release("not-the-token") is False
    assert await redis_client.get(key) is not None
    assert await first.release(token) is True
    assert await redis_client.get(key) is None
    # an abandoned lock expires; its old holder's late release does not free the new holder's lock
    stale = await first.acquire()
    assert stale is not None
    await asyncio.sleep(0.4)
    second = RedisLock(redis_client, key, ttl_ms=5_000)
    fresh = await second.acquire()
    assert fresh is not None and fresh != stale
    assert await first.release(stale) is False
    assert await redis_client.get(key) is not None
    assert await second.release(fresh) is True


async def test_part_item_locks_refuse_a_concurrent_holder_with_conflict(redis_client: redis.Redis) -> None:
    locks = RedisPartItemLocks(redis_client, KeySpace(f"locks-{uuid.uuid4().hex[:8]}"), ttl_ms=5_000, wait=0.02)
    org_id, item_id = uuid.uuid4(), uuid.uuid4()
    assert locks.key(org_id, item_id).endswith(f":lock:part_item:{org_id}:{item_id}")
    async with locks.hold(org_id, item_id):
        with pytest.raises(Conflict):
            async with locks.hold(org_id, item_id):
                pass  # pragma: no cover - never entered
        # another item is not blocked
        async with locks.hold(org_id, uuid.uuid4()):
            pass
    assert await redis_client.get(locks.key(org_id, item_id)) is None
    async with locks.hold(org_id, item_id):
        pass


class _NoLocks:
    """A lock that always grants: the database must hold the line alone."""

    @asynccontextmanager
    async def hold(self, org_id: uuid.UUID, part_item_id: uuid.UUID) -> AsyncIterator[None]:
        yield


async def test_without_the_redis_lock_the_database_still_allows_one_reservation(
    pg_pool: asyncpg.Pool, conn: asyncpg.Connection
) -> None:
    def unit_of_work() -> UnitOfWork:
        return PostgresUnitOfWork(pg_pool)

    service = PartsService(unit_of_work, lambda: datetime.now(UTC), _NoLocks())
    org_id = await make_org(conn)
    scheduler = await make_user(conn, org_id, "scheduler")
    actor = Actor(Principal(scheduler, org_id, Role.SCHEDULER))
    aircraft_id = await make_aircraft(conn, org_id)
    item_id = await make_part_item(conn, org_id)
    tasks = [await make_task(conn, org_id, aircraft_id, soon(100 + 2 * n), soon(101 + 2 * n)) for n in range(20)]

    results = await asyncio.gather(
        *(service.reserve(actor, org_id, task_id, item_id) for task_id in tasks), return_exceptions=True
    )
    successes = [result for result in results if not isinstance(result, BaseException)]
    failures = [result for result in results if isinstance(result, BaseException)]
    assert len(successes) == 1, results
    assert len(failures) == 19 and all(isinstance(failure, Conflict) for failure in failures), failures
    assert await conn.fetchval("SELECT count(*) FROM part_reservations WHERE part_item_id = $1", item_id) == 1
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM audit_logs WHERE org_id = $1 AND entity_type = 'part_reservation'", org_id
        )
        == 1
    )
