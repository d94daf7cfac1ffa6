"""Two replicas of the whole pipeline racing over 1,000 events of 100 aggregates: every event is published
once, each aggregate's events in commit order, and every delivery is sent exactly once (steady state: no lease
runs out)."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import asyncpg
import redis.asyncio as redis

from amss.app.clock import utc_now
from amss.domain.events import DomainEvent
from amss.infra.redis.keys import KeySpace
from amss.jobs.events.dispatcher import DispatcherConfig
from amss.jobs.events.fanout import FanOutConfig
from amss.jobs.events.pipeline import EventPipeline
from amss.jobs.events.publisher import PublisherConfig
from tests.events_support import Receiver, build_pipeline, make_webhook, stream_entries
from tests.mesh_support import wait_until

AGGREGATES, PER_AGGREGATE = 100, 10


async def insert_events(conn: asyncpg.Connection, org_id: uuid.UUID, aggregates: list[uuid.UUID], per: int) -> None:
    """`per` events for each aggregate, interleaved across aggregates, one insert each (seq in this order)."""
    now = datetime.now(UTC)
    rows = []
    for n in range(per):
        for aggregate in aggregates:
            event_id = uuid.uuid4()
            event = DomainEvent("task_created", org_id, "task", aggregate, now, f"race:{event_id}", {"n": n})
            rows.append(
                (event_id, org_id, "task", aggregate, "task_created", event.payload(event_id), event.dedupe_key)
            )
    await conn.executemany(
        "INSERT INTO outbox_events (id, org_id, aggregate_type, aggregate_id, event_type, payload, dedupe_key)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)",
        rows,
    )


async def test_two_replicas_publish_every_event_once_in_order_and_send_every_delivery_once(
    events_pool: asyncpg.Pool,
    db: asyncpg.Connection,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    hook: Receiver,
) -> None:
    webhook_id, _ = await make_webhook(db, org, hook.url())
    aggregates = [uuid.uuid4() for _ in range(AGGREGATES)]
    await insert_events(db, org, aggregates, PER_AGGREGATE)
    total = AGGREGATES * PER_AGGREGATE
    pipelines = []
    for name in ("replica-a", "replica-b"):
        replica = build_pipeline(
            events_pool,
            redis_client,
            keys,
            utc_now,
            name=name,
            publisher=PublisherConfig(owner=name, batch_size=40, poll_interval=0.02),
            fan_out=FanOutConfig(consumer=name, batch_size=50, block=timedelta(milliseconds=50)),
            dispatcher=DispatcherConfig(owner=name, batch_size=50, per_url=8, poll_interval=0.02),
        )
        pipelines.append((replica, EventPipeline(replica.publisher, replica.fan_out, replica.dispatcher)))
    for _, running in pipelines:
        running.start()
    try:

        async def all_sent() -> bool:
            delivered = await db.fetchval(
                "SELECT count(*) FROM webhook_deliveries WHERE webhook_id = $1 AND status = 'delivered'", webhook_id
            )
            return bool(delivered == total)

        await wait_until(all_sent, "every delivery to be delivered", within=180, step=0.25)
    finally:
        for replica, running in pipelines:
            await running.stop()
            await replica.sender.close()
    rows = await db.fetch(
        "SELECT id, aggregate_id, seq, processed_at, failed_at FROM outbox_events WHERE org_id = $1 ORDER BY seq", org
    )
    assert len(rows) == total
    assert all(row["processed_at"] is not None and row["failed_at"] is None for row in rows)
    entries = [e for e in await stream_entries(redis_client, keys.events_stream) if e["org_id"] == str(org)]
    published = Counter(entry["event_id"] for entry in entries)
    assert len(published) == total and set(published.values()) == {1}
    order_in_stream: dict[uuid.UUID, list[str]] = defaultdict(list)
    by_id = {str(row["id"]): row["aggregate_id"] for row in rows}
    for entry in entries:
        order_in_stream[by_id[entry["event_id"]]].append(entry["event_id"])
    commit_order: dict[uuid.UUID, list[str]] = defaultdict(list)
    for row in rows:
        commit_order[row["aggregate_id"]].append(str(row["id"]))
    assert order_in_stream == commit_order
    sent = Counter(received.headers["X-Webhook-Delivery-Id"] for received in hook.received)
    assert len(sent) == total and set(sent.values()) == {1}
    attempts = await db.fetch("SELECT attempt_count FROM webhook_deliveries WHERE webhook_id = $1", webhook_id)
    assert {row["attempt_count"] for row in attempts} == {1}
