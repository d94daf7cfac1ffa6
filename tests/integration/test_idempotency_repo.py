"""The idempotency_keys repository against real Postgres: claim, complete, release, take-over, purge."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import asyncpg
import pytest

from amss.infra.postgres.idempotency_repo import (
    Claimed,
    Existing,
    KeyScope,
    PgIdempotencyRepository,
    StoredResponse,
)
from amss.infra.postgres.jobs_repo import PgExpiredKeys
from amss.jobs.idempotency_purge import purge_expired_keys
from tests.integration.factories import make_org

LEASE = timedelta(seconds=45)
TTL = timedelta(hours=24)
CREATED = StoredResponse(201, b'{"id": "1"}', {"Content-Type": "application/json", "Location": "/api/v1/x/1"})


@pytest.fixture
async def org_id(conn: asyncpg.Connection) -> uuid.UUID:
    return await make_org(conn)


@pytest.fixture
def repo(conn: asyncpg.Connection) -> PgIdempotencyRepository:
    return PgIdempotencyRepository(conn)


def scope_in(org_id: uuid.UUID, key: str | None = None, endpoint: str = "POST /api/v1/x") -> KeyScope:
    return KeyScope(org_id, key or f"key-{uuid.uuid4().hex}", endpoint)


async def claimed(repo: PgIdempotencyRepository, scope: KeyScope, request_hash: str = "h1") -> uuid.UUID:
    claim = await repo.claim(scope, request_hash, LEASE, TTL)
    assert isinstance(claim, Claimed)
    return claim.key_id


async def existing(repo: PgIdempotencyRepository, scope: KeyScope, request_hash: str = "h1") -> Existing:
    claim = await repo.claim(scope, request_hash, LEASE, TTL)
    assert isinstance(claim, Existing)
    return claim


async def test_first_claim_inserts_a_placeholder_with_lease_and_24h_expiry(
    repo: PgIdempotencyRepository, conn: asyncpg.Connection, org_id: uuid.UUID
) -> None:
    scope = scope_in(org_id)
    key_id = await claimed(repo, scope)
    row = await conn.fetchrow(
        "SELECT status_code, request_hash, lease_expires_at - created_at AS lease,"
        " expires_at - created_at AS ttl FROM idempotency_keys WHERE id = $1",
        key_id,
    )
    assert row is not None
    assert (row["status_code"], row["request_hash"], row["lease"], row["ttl"]) == (0, "h1", LEASE, TTL)


async def test_second_claim_sees_the_running_placeholder_and_its_lease(
    repo: PgIdempotencyRepository, org_id: uuid.UUID
) -> None:
    scope = scope_in(org_id)
    await claimed(repo, scope)
    found = await existing(repo, scope)
    assert found.response is None
    assert found.request_hash == "h1"
    assert 40 < found.lease_seconds_left <= 45
    assert found.retry_after_seconds == 45


async def test_completed_key_returns_the_stored_response(
    repo: PgIdempotencyRepository, conn: asyncpg.Connection, org_id: uuid.UUID
) -> None:
    scope = scope_in(org_id)
    key_id = await claimed(repo, scope)
    assert await repo.complete(key_id, CREATED, {"id": "1"}) is True
    found = await existing(repo, scope)
    assert found.response == CREATED
    row = await conn.fetchrow("SELECT response_body, lease_expires_at FROM idempotency_keys WHERE id = $1", key_id)
    assert row is not None
    assert row["response_body"] == {"id": "1"}
    assert row["lease_expires_at"] is None


async def test_a_completed_key_is_not_claimed_again_even_with_another_hash(
    repo: PgIdempotencyRepository, org_id: uuid.UUID
) -> None:
    scope = scope_in(org_id)
    await repo.complete(await claimed(repo, scope), CREATED, None)
    found = await existing(repo, scope, "h2")
    assert found.request_hash == "h1"
    assert found.response == CREATED


async def test_keys_are_scoped_to_organization_and_endpoint(
    repo: PgIdempotencyRepository, conn: asyncpg.Connection, org_id: uuid.UUID
) -> None:
    other_org = await make_org(conn)
    await claimed(repo, scope_in(org_id, "shared"))
    await claimed(repo, scope_in(other_org, "shared"))
    await claimed(repo, scope_in(org_id, "shared", "POST /api/v1/y"))


async def test_dead_placeholder_of_the_same_request_is_taken_over_with_a_new_owner(
    repo: PgIdempotencyRepository, conn: asyncpg.Connection, org_id: uuid.UUID
) -> None:
    scope = scope_in(org_id)
    first_id = await claimed(repo, scope)
    await conn.execute(
        "UPDATE idempotency_keys SET lease_expires_at = now() - interval '1 second',"
        " created_at = now() - interval '1 hour', expires_at = now() + interval '23 hours' WHERE id = $1",
        first_id,
    )
    second_id = await claimed(repo, scope)
    assert second_id != first_id
    # the dead request cannot store or release what is no longer its placeholder
    assert await repo.complete(first_id, CREATED, None) is False
    await repo.release(first_id)
    row = await conn.fetchrow(
        "SELECT status_code, expires_at - now() AS left FROM idempotency_keys WHERE id = $1", second_id
    )
    assert row is not None
    assert row["status_code"] == 0
    assert row["left"] < timedelta(hours=23), "the expiry still counts from the first request"


async def test_dead_placeholder_of_another_request_is_not_taken_over(
    repo: PgIdempotencyRepository, conn: asyncpg.Connection, org_id: uuid.UUID
) -> None:
    scope = scope_in(org_id)
    key_id = await claimed(repo, scope)
    await conn.execute(
        "UPDATE idempotency_keys SET lease_expires_at = now() - interval '1 second' WHERE id = $1", key_id
    )
    found = await existing(repo, scope, "h2")
    assert found.request_hash == "h1"
    assert found.response is None


async def test_expired_key_is_claimed_afresh_by_any_request(
    repo: PgIdempotencyRepository, conn: asyncpg.Connection, org_id: uuid.UUID
) -> None:
    scope = scope_in(org_id)
    old_id = await claimed(repo, scope)
    await repo.complete(old_id, CREATED, None)
    await conn.execute(
        "UPDATE idempotency_keys SET created_at = now() - interval '25 hours',"
        " expires_at = now() - interval '1 hour' WHERE id = $1",
        old_id,
    )
    new_id = await claimed(repo, scope, "h2")
    row = await conn.fetchrow(
        "SELECT status_code, request_hash, response_raw, response_headers, expires_at - created_at AS ttl"
        " FROM idempotency_keys WHERE id = $1",
        new_id,
    )
    assert row is not None
    assert dict(row) == {
        "status_code": 0,
        "request_hash": "h2",
        "response_raw": None,
        "response_headers": None,
        "ttl": TTL,
    }


async def test_expired_placeholder_with_a_live_lease_is_left_to_its_request(
    repo: PgIdempotencyRepository, conn: asyncpg.Connection, org_id: uuid.UUID
) -> None:
    scope = scope_in(org_id)
    key_id = await claimed(repo, scope)
    await conn.execute("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE id = $1", key_id)
    found = await existing(repo, scope, "h2")
    assert found.response is None
    await repo.purge_expired(1000)
    assert await remaining(conn, org_id) == {key_id}


async def test_release_deletes_only_the_owners_placeholder(
    repo: PgIdempotencyRepository, conn: asyncpg.Connection, org_id: uuid.UUID
) -> None:
    running = scope_in(org_id)
    done = scope_in(org_id)
    running_id = await claimed(repo, running)
    done_id = await claimed(repo, done)
    await repo.complete(done_id, CREATED, None)
    await repo.release(running_id)
    await repo.release(done_id)
    ids = {row["id"] for row in await conn.fetch("SELECT id FROM idempotency_keys WHERE org_id = $1", org_id)}
    assert ids == {done_id}
    await claimed(repo, running)


async def test_concurrent_claims_of_one_key_have_exactly_one_winner(pg_pool: asyncpg.Pool, org_id: uuid.UUID) -> None:
    scope = scope_in(org_id)

    async def claim() -> Claimed | Existing:
        async with pg_pool.acquire() as conn:
            return await PgIdempotencyRepository(conn).claim(scope, "h1", LEASE, TTL)

    results = await asyncio.gather(*(claim() for _ in range(10)))
    assert sum(isinstance(result, Claimed) for result in results) == 1
    assert all(result.response is None for result in results if isinstance(result, Existing))


async def test_concurrent_take_overs_of_a_dead_placeholder_have_exactly_one_winner(
    pg_pool: asyncpg.Pool, repo: PgIdempotencyRepository, conn: asyncpg.Connection, org_id: uuid.UUID
) -> None:
    scope = scope_in(org_id)
    dead_id = await claimed(repo, scope)
    await conn.execute(
        "UPDATE idempotency_keys SET lease_expires_at = now() - interval '1 second' WHERE id = $1", dead_id
    )

    async def claim() -> Claimed | Existing:
        async with pg_pool.acquire() as pooled:
            return await PgIdempotencyRepository(pooled).claim(scope, "h1", LEASE, TTL)

    results = await asyncio.gather(*(claim() for _ in range(8)))
    winners = [result for result in results if isinstance(result, Claimed)]
    assert len(winners) == 1
    assert winners[0].key_id != dead_id


# --- purge -------------------------------------------------------------------------------------


async def insert_key(
    conn: asyncpg.Connection, org_id: uuid.UUID, expires_in: timedelta, status: int = 201
) -> uuid.UUID:
    return await conn.fetchval(  # type: ignore[no-any-return]
        "INSERT INTO idempotency_keys (org_id, key, endpoint, request_hash, status_code, lease_expires_at,"
        " created_at, expires_at) VALUES ($1, $2, 'POST /api/v1/x', 'h', $3,"
        " CASE WHEN $3 = 0 THEN now() + interval '45 seconds' END,"
        " now() - interval '24 hours' + $4::interval, now() + $4::interval) RETURNING id",
        org_id,
        uuid.uuid4().hex,
        status,
        expires_in,
    )


async def remaining(conn: asyncpg.Connection, org_id: uuid.UUID) -> set[uuid.UUID]:
    return {row["id"] for row in await conn.fetch("SELECT id FROM idempotency_keys WHERE org_id = $1", org_id)}


async def test_purge_deletes_expired_keys_in_batches(
    pg_pool: asyncpg.Pool, conn: asyncpg.Connection, org_id: uuid.UUID
) -> None:
    for _ in range(5):
        await insert_key(conn, org_id, -timedelta(minutes=1))
    fresh = await insert_key(conn, org_id, timedelta(hours=1))
    running = await insert_key(conn, org_id, -timedelta(minutes=1), status=0)
    assert await PgIdempotencyRepository(conn).purge_expired(2) == 2
    assert await purge_expired_keys(PgExpiredKeys(pg_pool), batch_size=2) >= 3
    assert await remaining(conn, org_id) == {fresh, running}
    assert await purge_expired_keys(PgExpiredKeys(pg_pool), batch_size=2) == 0
