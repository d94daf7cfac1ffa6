"""The fan-out consumer (group amss.workers) over real Postgres and Redis: one delivery per subscribed live
webhook, a repeated entry adds nothing, webhook.test goes to its webhook only, a dead consumer's pending
entries are reclaimed, and entries that keep coming back or cannot be read end in the DLQ."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import redis.asyncio as redis

from amss.infra.redis.keys import EVENTS_GROUP, KeySpace
from amss.jobs.events.fanout import FanOutConfig
from tests.events_support import MovableClock, build_pipeline, deliveries_of, make_event, make_webhook, stream_entries
from tests.mesh_support import wait_until


async def test_one_delivery_per_live_subscribed_webhook_and_a_repeated_entry_adds_nothing(
    events_pool: asyncpg.Pool,
    db: asyncpg.Connection,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    clock: MovableClock,
) -> None:
    subscribed, _ = await make_webhook(db, org, "http://127.0.0.1:9/a", ["task_created", "part_reserved"])
    other_type, _ = await make_webhook(db, org, "http://127.0.0.1:9/b", ["part_reserved"])
    inactive, _ = await make_webhook(db, org, "http://127.0.0.1:9/c", active=False)
    deleted, _ = await make_webhook(db, org, "http://127.0.0.1:9/d")
    await db.execute("UPDATE webhooks SET deleted_at = now() WHERE id = $1", deleted)
    stranger_org = await db.fetchval("INSERT INTO organizations (name) VALUES ('other') RETURNING id")
    stranger, _ = await make_webhook(db, stranger_org, "http://127.0.0.1:9/e")
    event_id = await make_event(db, org, clock())
    replica = build_pipeline(events_pool, redis_client, keys, clock)
    await replica.publish()
    entries = await replica.stream.read(replica.name, 10, 10)
    assert await replica.fan_out.handle(entries) == 1
    # the same entry again (a redelivery, or the event published twice): nothing more
    assert await replica.fan_out.handle(entries) == 0
    [delivery] = await deliveries_of(db, subscribed)
    assert (delivery["event_id"], delivery["status"], delivery["attempt_count"]) == (event_id, "pending", 0)
    for webhook_id in (other_type, inactive, deleted, stranger):
        assert await deliveries_of(db, webhook_id) == []
    assert await redis_client.xpending(keys.events_stream, EVENTS_GROUP) == {
        "pending": 0,
        "min": None,
        "max": None,
        "consumers": [],
    }
    await replica.sender.close()


async def test_a_webhook_test_event_makes_exactly_its_one_delivery(
    events_pool: asyncpg.Pool,
    db: asyncpg.Connection,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    clock: MovableClock,
) -> None:
    tested, _ = await make_webhook(db, org, "http://127.0.0.1:9/t", ["part_reserved"], active=False)
    bystander, _ = await make_webhook(db, org, "http://127.0.0.1:9/b", ["webhook.test", "task_created"])
    delivery_id = uuid.uuid4()
    await make_event(
        db,
        org,
        clock(),
        event_type="webhook.test",
        aggregate_type="webhook",
        aggregate_id=tested,
        data={"delivery_id": str(delivery_id), "test": True},
    )
    gone, _ = await make_webhook(db, org, "http://127.0.0.1:9/g")
    await db.execute("UPDATE webhooks SET deleted_at = now() WHERE id = $1", gone)
    await make_event(
        db,
        org,
        clock(),
        event_type="webhook.test",
        aggregate_type="webhook",
        aggregate_id=gone,
        data={"delivery_id": str(uuid.uuid4()), "test": True},
    )
    replica = build_pipeline(events_pool, redis_client, keys, clock)
    await replica.publish()
    assert await replica.fan() == 2
    [delivery] = await deliveries_of(db, tested)
    assert delivery["id"] == delivery_id
    assert await deliveries_of(db, bystander) == []
    assert await deliveries_of(db, gone) == []
    await replica.sender.close()


async def test_a_dead_consumers_pending_entries_are_reclaimed_by_another(
    events_pool: asyncpg.Pool,
    db: asyncpg.Connection,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    clock: MovableClock,
) -> None:
    webhook_id, _ = await make_webhook(db, org, "http://127.0.0.1:9/a")
    events = {await make_event(db, org, clock()) for _ in range(3)}
    dead = build_pipeline(events_pool, redis_client, keys, clock, name="dead")
    await dead.publish()
    # the dead consumer read the entries and stopped before fanning them out
    assert len(await dead.stream.read("dead", 10, 10)) == 3
    survivor = build_pipeline(
        events_pool,
        redis_client,
        keys,
        clock,
        name="survivor",
        fan_out=FanOutConfig(consumer="survivor", claim_idle=timedelta(milliseconds=200)),
    )
    assert await survivor.fan() == 0  # nothing new for it to read

    async def reclaimed() -> bool:
        return await survivor.fan_out.reclaim_once() > 0

    await wait_until(reclaimed, "the survivor to reclaim the dead consumer's entries", within=10)
    assert {row["event_id"] for row in await deliveries_of(db, webhook_id)} == events
    summary = await redis_client.xpending(keys.events_stream, EVENTS_GROUP)
    assert summary["pending"] == 0
    await dead.sender.close()
    await survivor.sender.close()


async def test_entries_handed_out_too_often_or_unreadable_go_to_the_dead_letter_stream(
    events_pool: asyncpg.Pool,
    db: asyncpg.Connection,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    clock: MovableClock,
) -> None:
    webhook_id, _ = await make_webhook(db, org, "http://127.0.0.1:9/a")
    event_id = await make_event(db, org, clock())
    first = build_pipeline(events_pool, redis_client, keys, clock, name="first")
    await first.publish()
    await redis_client.xadd(keys.events_stream, {"event_id": "not-a-uuid", "org_id": str(org), "event_type": "x"})
    assert len(await first.stream.read("first", 10, 10)) == 2  # delivery 1, then the consumer dies
    config = FanOutConfig(consumer="third", claim_idle=timedelta(0), max_deliveries=2)
    third = build_pipeline(events_pool, redis_client, keys, clock, name="third", fan_out=config)
    assert len(await third.stream.reclaim("second", 0, 10)) == 2  # delivery 2: that consumer died too
    assert await third.fan_out.reclaim_once() == 2  # delivery 3 > 2: dead-lettered and acknowledged
    letters = await stream_entries(redis_client, keys.dead_letter_stream)
    assert sorted((letter["source"], letter["error"]) for letter in letters) == [
        ("outbox", "fan-out failed 2 times"),
        ("outbox", "unreadable events stream entry"),
    ]
    assert {letter["id"] for letter in letters} >= {str(event_id)}
    assert await deliveries_of(db, webhook_id) == []
    assert (await redis_client.xpending(keys.events_stream, EVENTS_GROUP))["pending"] == 0
    await first.sender.close()
    await third.sender.close()
