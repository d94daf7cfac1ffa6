"""Pipeline processes killed with SIGKILL half-way. A publisher killed between its XADDs and the marking: once
its lease runs out another publisher sends the events again (at least once), the fan-out deduplicates them by
event_id (one delivery each), and nothing is lost. A fan-out consumer killed with entries read but not
acknowledged: another consumer reclaims them (XAUTOCLAIM) and makes their deliveries."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import redis.asyncio as redis

from amss.infra.redis.keys import EVENTS_GROUP, KeySpace
from amss.jobs.events.fanout import FanOutConfig
from tests.backends import Backends
from tests.events_support import (
    MovableClock,
    Receiver,
    build_pipeline,
    deliveries_of,
    make_event,
    make_webhook,
    stream_entries,
)
from tests.mesh_support import wait_until

ROOT = Path(__file__).resolve().parents[3]


async def test_a_publisher_killed_after_xadd_is_republished_and_deduplicated_downstream(
    events_pool: asyncpg.Pool,
    events_db: str,
    backends: Backends,
    db: asyncpg.Connection,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    clock: MovableClock,
    hook: Receiver,
) -> None:
    webhook_id, _ = await make_webhook(db, org, hook.url())
    events = {await make_event(db, org, clock()) for _ in range(20)}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.events_processes",
        "publisher",
        events_db,
        backends.redis_url,
        keys.prefix,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line.decode().strip() == "published 20"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        await process.wait()
    assert process.returncode == -signal.SIGKILL
    first = await stream_entries(redis_client, keys.events_stream)
    assert {uuid.UUID(entry["event_id"]) for entry in first} == events
    rows = await db.fetch("SELECT processed_at, locked_by FROM outbox_events WHERE org_id = $1", org)
    assert all(row["processed_at"] is None and row["locked_by"].startswith("doomed:") for row in rows)

    survivor = build_pipeline(events_pool, redis_client, keys, clock, name="survivor")
    assert (await survivor.publish()).claimed == 0  # the dead publisher's lease still holds
    # past the dead publisher's lease (30 s from its claim, made on the real clock)
    clock.to(datetime.now(UTC) + timedelta(seconds=31))
    await survivor.step()
    twice = Counter(entry["event_id"] for entry in await stream_entries(redis_client, keys.events_stream))
    assert {uuid.UUID(event_id) for event_id in twice} == events and set(twice.values()) == {2}
    deliveries = await deliveries_of(db, webhook_id)
    assert sorted(row["event_id"] for row in deliveries) == sorted(events)
    assert {row["status"] for row in deliveries} == {"delivered"}
    assert len(hook.received) == 20
    assert await db.fetchval("SELECT count(*) FROM outbox_events WHERE org_id = $1 AND processed_at IS NULL", org) == 0
    await survivor.sender.close()


async def test_a_consumer_killed_with_pending_entries_leaves_them_to_another(
    events_pool: asyncpg.Pool,
    events_db: str,
    backends: Backends,
    db: asyncpg.Connection,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    clock: MovableClock,
) -> None:
    webhook_id, _ = await make_webhook(db, org, "http://127.0.0.1:9/hook")
    events = {await make_event(db, org, clock()) for _ in range(10)}
    survivor = build_pipeline(
        events_pool,
        redis_client,
        keys,
        clock,
        name="survivor",
        fan_out=FanOutConfig(consumer="survivor", claim_idle=timedelta(milliseconds=300)),
    )
    await survivor.stream.ensure_group()
    await survivor.publish()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.events_processes",
        "consumer",
        events_db,
        backends.redis_url,
        keys.prefix,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line.decode().strip() == "read 10"
    finally:
        os.kill(process.pid, signal.SIGKILL)
        await process.wait()
    pending = await redis_client.xpending(keys.events_stream, EVENTS_GROUP)
    assert pending["pending"] == 10 and pending["consumers"] == [{"name": b"doomed", "pending": 10}]
    assert await survivor.fan() == 0  # nothing new: the entries belong to the dead consumer

    async def reclaimed() -> bool:
        return await survivor.fan_out.reclaim_once() > 0

    await wait_until(reclaimed, "the survivor to reclaim the killed consumer's entries", within=10)
    assert {row["event_id"] for row in await deliveries_of(db, webhook_id)} == events
    assert (await redis_client.xpending(keys.events_stream, EVENTS_GROUP))["pending"] == 0
    await survivor.sender.close()
