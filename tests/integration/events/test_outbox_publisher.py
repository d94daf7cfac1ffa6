"""The outbox publisher over real Postgres and Redis: leases, per-aggregate commit order (seq, not created_at),
rows held or waiting elsewhere block their aggregate's later events, failures back off and end in the DLQ."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import redis.asyncio as redis

from amss.bootstrap.events import session_timeouts
from amss.config import load_settings
from amss.infra.postgres.outbox_publishing_repo import PgOutboxPublishing
from amss.infra.postgres.pool import create_pool
from amss.infra.redis.keys import KeySpace
from amss.jobs.events.publisher import PublisherConfig
from tests.events_support import MovableClock, build_pipeline, make_event, stream_entries


async def _published(client: redis.Redis, keys: KeySpace) -> list[uuid.UUID]:
    return [uuid.UUID(entry["event_id"]) for entry in await stream_entries(client, keys.events_stream)]


async def test_an_aggregate_goes_out_in_commit_order_even_when_created_at_says_otherwise(
    events_pool: asyncpg.Pool,
    db: asyncpg.Connection,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    clock: MovableClock,
) -> None:
    task = uuid.uuid4()
    # the second transaction started first (earlier created_at) but committed, so inserted, later
    first = await make_event(db, org, clock(), aggregate_id=task)
    second = await make_event(db, org, clock() - timedelta(seconds=5), aggregate_id=task)
    third = await make_event(db, org, clock() - timedelta(seconds=9), aggregate_id=task)
    replica = build_pipeline(events_pool, redis_client, keys, clock)
    round_ = await replica.publish()
    assert (round_.claimed, round_.published) == (3, 3)
    assert await _published(redis_client, keys) == [first, second, third]
    entry = (await stream_entries(redis_client, keys.events_stream))[0]
    assert set(entry) == {"event_id", "event_type", "org_id", "payload"}  # no traceparent recorded
    await replica.sender.close()


async def test_an_event_held_by_another_replica_holds_back_its_aggregate_but_not_others(
    events_pool: asyncpg.Pool,
    db: asyncpg.Connection,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    clock: MovableClock,
) -> None:
    task, other = uuid.uuid4(), uuid.uuid4()
    a1 = await make_event(db, org, clock(), aggregate_id=task)
    a2 = await make_event(db, org, clock(), aggregate_id=task)
    b1 = await make_event(db, org, clock(), aggregate_id=other)
    outbox = PgOutboxPublishing(events_pool)
    # another replica leased a1 (and stalls)
    [held] = await outbox.claim("stalled:1", clock(), timedelta(seconds=30), 1)
    assert held.id == a1
    replica = build_pipeline(events_pool, redis_client, keys, clock)
    round_ = await replica.publish()
    assert await _published(redis_client, keys) == [b1]
    assert round_.claimed == 1
    # within the lease nothing of the held aggregate goes out
    clock.advance(timedelta(seconds=29))
    assert (await replica.publish()).claimed == 0
    # past the lease a1 is claimable again, and a2 follows it in order
    clock.advance(timedelta(seconds=2))
    assert (await replica.publish()).published == 2
    assert await _published(redis_client, keys) == [b1, a1, a2]
    # the stalled replica no longer holds a1: its late mark changes nothing
    assert await outbox.mark_published([a1], "stalled:1", clock()) == 0
    await replica.sender.close()


async def test_a_row_locked_by_a_claim_in_progress_is_skipped_and_blocks_its_aggregate(
    events_pool: asyncpg.Pool,
    db: asyncpg.Connection,
    events_db: str,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    clock: MovableClock,
) -> None:
    task = uuid.uuid4()
    a1 = await make_event(db, org, clock(), aggregate_id=task)
    a2 = await make_event(db, org, clock(), aggregate_id=task)
    b1 = await make_event(db, org, clock())
    other = await asyncpg.connect(events_db)
    replica = build_pipeline(events_pool, redis_client, keys, clock)
    try:
        async with other.transaction():
            await other.execute("SELECT 1 FROM outbox_events WHERE id = $1 FOR UPDATE", a1)
            await replica.publish()
            assert await _published(redis_client, keys) == [b1]
    finally:
        await other.close()
    await replica.publish()
    assert await _published(redis_client, keys) == [b1, a1, a2]
    await replica.sender.close()


async def test_an_event_waiting_for_its_retry_holds_back_its_aggregate(
    events_pool: asyncpg.Pool,
    db: asyncpg.Connection,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    clock: MovableClock,
) -> None:
    task = uuid.uuid4()
    a1 = await make_event(db, org, clock(), aggregate_id=task)
    a2 = await make_event(db, org, clock(), aggregate_id=task)
    await db.execute(
        "UPDATE outbox_events SET attempt_count = 1, last_error = 'boom', next_attempt_at = $2 WHERE id = $1",
        a1,
        clock() + timedelta(seconds=10),
    )
    replica = build_pipeline(events_pool, redis_client, keys, clock)
    assert (await replica.publish()).claimed == 0
    clock.advance(timedelta(seconds=10))
    assert (await replica.publish()).published == 2
    assert await _published(redis_client, keys) == [a1, a2]
    await replica.sender.close()


async def test_a_publish_failure_backs_off_and_gives_up_into_the_dead_letter_stream(
    events_pool: asyncpg.Pool,
    db: asyncpg.Connection,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    clock: MovableClock,
) -> None:
    # a real Redis error: the stream's key holds a string, so every XADD answers WRONGTYPE
    await redis_client.set(keys.events_stream, "not a stream")
    event_id = await make_event(db, org, clock())
    config = PublisherConfig(owner="failing", max_attempts=4, backoff_base=timedelta(seconds=2))
    replica = build_pipeline(events_pool, redis_client, keys, clock, publisher=config, random_source=lambda: 1.0)
    delays = []
    for attempt in (1, 2, 3):
        round_ = await replica.publish()
        assert (round_.claimed, round_.published, round_.retried) == (1, 0, 1)
        row = await db.fetchrow("SELECT * FROM outbox_events WHERE id = $1", event_id)
        assert row is not None
        assert row["attempt_count"] == attempt and "WRONGTYPE" in row["last_error"] and row["locked_by"] is None
        delays.append(row["next_attempt_at"] - clock())
        assert (await replica.publish()).claimed == 0  # not due before its time
        clock.to(row["next_attempt_at"])
    assert delays == [timedelta(seconds=1.6 * 2**n) for n in range(3)]
    round_ = await replica.publish()
    assert (round_.failed, round_.dead_lettered) == (1, [event_id])
    row = await db.fetchrow("SELECT * FROM outbox_events WHERE id = $1", event_id)
    assert row is not None
    assert row["attempt_count"] == 4 and row["failed_at"] == row["processed_at"] == clock()
    [letter] = await stream_entries(redis_client, keys.dead_letter_stream)
    assert letter["source"] == "outbox" and letter["id"] == str(event_id) and letter["org_id"] == str(org)
    assert "not published after 4 attempts" in letter["error"] and "WRONGTYPE" in letter["error"]
    clock.advance(timedelta(hours=2))
    assert (await replica.publish()).claimed == 0
    await replica.sender.close()


async def test_the_publishers_sessions_carry_statement_lock_and_idle_transaction_timeouts(events_db: str) -> None:
    settings = load_settings({}, db_url=events_db, events_statement_timeout="7s", events_lock_timeout="1500ms")
    pool = await create_pool(events_db, min_size=1, max_size=1, session=session_timeouts(settings))
    try:
        async with pool.acquire() as conn:
            assert await conn.fetchval("SHOW statement_timeout") == "7s"
            assert await conn.fetchval("SHOW lock_timeout") == "1500ms"
            assert await conn.fetchval("SHOW idle_in_transaction_session_timeout") == "15s"
    finally:
        await pool.close()


async def test_an_aggregate_held_back_does_not_hold_back_the_events_queued_behind_it(
    events_pool: asyncpg.Pool,
    db: asyncpg.Connection,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    clock: MovableClock,
) -> None:
    stuck, leased = uuid.uuid4(), uuid.uuid4()
    waiting = await make_event(db, org, clock(), aggregate_id=stuck)
    await db.execute(
        "UPDATE outbox_events SET next_attempt_at = $2 WHERE id = $1", waiting, clock() + timedelta(hours=1)
    )
    held = await make_event(db, org, clock(), aggregate_id=leased)
    await db.execute("UPDATE outbox_events SET locked_at = $2, locked_by = 'other:1' WHERE id = $1", held, clock())
    for _ in range(5):  # more than a batch of events queued behind each held-back one
        await make_event(db, org, clock(), aggregate_id=stuck)
        await make_event(db, org, clock(), aggregate_id=leased)
    free = await make_event(db, org, clock())
    replica = build_pipeline(
        events_pool, redis_client, keys, clock, publisher=PublisherConfig(owner="head", batch_size=3)
    )
    assert (await replica.publish()).published == 1
    assert await _published(redis_client, keys) == [free]
    await replica.sender.close()
