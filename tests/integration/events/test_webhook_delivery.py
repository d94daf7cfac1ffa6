"""Webhook deliveries against real receivers: a task created through REST arrives signed with the documented
headers and body; retries back off (injected clock), Retry-After is honoured, 410 deactivates, redirects and
hangs are failures, a rotation signs with both secrets during its overlap, and production refuses private
destinations at delivery."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import partial

import asyncpg
import orjson
import redis.asyncio as redis
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from amss.bootstrap.events import open_event_pipeline
from amss.bootstrap.resources import open_resources
from amss.bootstrap.server import init_server_app
from amss.config import Settings
from amss.domain.webhook_signing import verify
from amss.infra.postgres.deliveries_repo import PgDeliveryStore
from amss.infra.redis.keys import KeySpace
from amss.jobs.events.dispatcher import DispatcherConfig
from tests.api_support import call, make_tenant
from tests.events_support import (
    MovableClock,
    Pipeline,
    Receiver,
    build_pipeline,
    deliveries_of,
    hang,
    make_event,
    make_webhook,
    receiver,
    status,
    stream_entries,
)
from tests.integration.factories import make_aircraft, soon
from tests.mesh_support import wait_until


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


async def test_a_task_created_through_rest_reaches_the_webhook_signed(
    api_settings: Settings,
    events_db: str,
    db: asyncpg.Connection,
    keys: KeySpace,
    hook: Receiver,
    redis_client: redis.Redis,
    test_password_hash: str,
) -> None:
    settings = api_settings.model_copy(
        update={"db_url": events_db, "amss_mesh": False, "amss_redis_prefix": keys.prefix, "worker_id": "e2e-worker"}
    )
    app = init_server_app(settings)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        tenant = await make_tenant(db, app, test_password_hash)
        webhook_id, secret = await make_webhook(db, tenant.org_id, hook.url(), ["task_created", "task_state_changed"])
        ignored_id, _ = await make_webhook(db, tenant.org_id, hook.url("/other"), ["part_reserved"])
        aircraft_id = await make_aircraft(db, tenant.org_id)
        registry = CollectorRegistry()
        async with open_resources(settings) as resources, open_event_pipeline(resources, registry):
            created_status, task, _ = await call(
                client,
                "POST",
                "/api/v1/maintenance-tasks",
                tenant["scheduler"],
                json={
                    "aircraft_id": str(aircraft_id),
                    "type": "inspection",
                    "start_time": soon(48).isoformat(),
                    "end_time": soon(50).isoformat(),
                },
            )
            assert created_status == 201, task
            await asyncio.wait_for(hook.arrived.wait(), 30)

            async def recorded() -> bool:
                rows = await deliveries_of(db, webhook_id)
                return bool(rows) and rows[0]["status"] == "delivered"

            await wait_until(recorded, "the delivery to be recorded as delivered")
        [received] = hook.received
        headers, body = received.headers, received.body
        assert headers["Content-Type"] == "application/json"
        assert headers["X-Webhook-Event"] == "task_created"
        now_ms = _ms(datetime.now(UTC))
        assert verify(secret, headers["X-Webhook-Signature"], headers["X-Webhook-Timestamp"], body, now_ms=now_ms)
        assert not verify("f" * 64, headers["X-Webhook-Signature"], headers["X-Webhook-Timestamp"], body, now_ms=now_ms)
        event = orjson.loads(body)
        assert event["event_type"] == "task_created" and event["version"] == 1
        assert event["org_id"] == str(tenant.org_id) and event["task_id"] == task["id"]
        [delivery] = await deliveries_of(db, webhook_id)
        assert headers["X-Webhook-Delivery-Id"] == str(delivery["id"])
        assert str(delivery["event_id"]) == event["event_id"]
        kept = (delivery["attempt_count"], delivery["last_response_code"], delivery["last_response_body"])
        assert kept == (1, 200, "ok")
        assert await deliveries_of(db, ignored_id) == []
        [entry] = await stream_entries(redis_client, keys.events_stream)
        assert entry["event_id"] == event["event_id"] and entry["event_type"] == "task_created"
        assert entry["org_id"] == str(tenant.org_id) and orjson.loads(entry["payload"]) == event
        published = "SELECT processed_at IS NOT NULL FROM outbox_events WHERE id = $1"
        assert await db.fetchval(published, delivery["event_id"])
        assert registry.get_sample_value("outbox_events_processed_total") == 1
        assert registry.get_sample_value("webhook_deliveries_total", {"status": "delivered"}) == 1
        assert registry.get_sample_value("event_fanout_deliveries_total") == 1
        metrics = await client.get("/metrics")
        text = await metrics.text()
        assert "outbox_oldest_unpublished_age_seconds" in text and "webhook_deliveries_pending" in text
    finally:
        await client.close()


async def test_a_failing_receiver_is_retried_with_growing_delays_then_failed_and_dead_lettered(
    events_pool: asyncpg.Pool,
    db: asyncpg.Connection,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    clock: MovableClock,
    hook: Receiver,
) -> None:
    await db.execute("UPDATE org_policies SET max_webhook_attempts = 5 WHERE org_id = $1", org)
    hook.default = status(500, body="x" * 5000)
    webhook_id, _ = await make_webhook(db, org, hook.url())
    await make_event(db, org, clock())
    replica = build_pipeline(events_pool, redis_client, keys, clock, random_source=lambda: 0.5)
    await replica.step()
    delays: list[timedelta] = []
    for attempt in range(1, 6):
        [row] = await deliveries_of(db, webhook_id)
        assert row["attempt_count"] == attempt and row["last_response_code"] == 500
        assert row["last_response_body"] == "x" * 1024  # the first 1 KiB
        if attempt == 5:
            break
        assert row["status"] == "pending" and row["last_error"] == "HTTP 500"
        delays.append(row["next_attempt_at"] - clock())
        # not due yet: a dispatch just before the retry time sends nothing
        clock.to(row["next_attempt_at"] - timedelta(milliseconds=10))
        assert await replica.dispatch() == 0
        clock.to(row["next_attempt_at"])
        assert await replica.dispatch() == 1
    assert delays == [timedelta(seconds=5 * 0.9 * 2**n) for n in range(4)]
    assert len(hook.received) == 5
    assert row["status"] == "failed" and "attempt 5 of 5" in row["last_error"]
    [letter] = await stream_entries(redis_client, keys.dead_letter_stream)
    assert letter["source"] == "webhook" and letter["id"] == str(row["id"]) and letter["org_id"] == str(org)
    assert "HTTP 500" in letter["error"]
    clock.advance(timedelta(hours=2))
    assert await replica.dispatch() == 0
    await replica.sender.close()


async def test_429_and_503_wait_for_retry_after_in_seconds_or_as_a_date(
    events_pool: asyncpg.Pool,
    db: asyncpg.Connection,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    clock: MovableClock,
    hook: Receiver,
) -> None:
    webhook_id, _ = await make_webhook(db, org, hook.url())
    later = (clock() + timedelta(minutes=3)).replace(microsecond=0)
    hook.script.extend(
        [status(429, {"Retry-After": "7"}), status(503, {"Retry-After": format_datetime(later, usegmt=True)})]
    )
    await make_event(db, org, clock())
    replica = build_pipeline(events_pool, redis_client, keys, clock)
    await replica.step()
    [row] = await deliveries_of(db, webhook_id)
    assert (row["status"], row["last_response_code"]) == ("pending", 429)
    assert row["next_attempt_at"] == clock() + timedelta(seconds=7)
    clock.advance(timedelta(seconds=7))
    assert await replica.dispatch() == 1
    [row] = await deliveries_of(db, webhook_id)
    assert (row["last_response_code"], row["next_attempt_at"]) == (503, later)
    clock.to(later)
    assert await replica.dispatch() == 1
    [row] = await deliveries_of(db, webhook_id)
    assert (row["status"], row["attempt_count"], row["last_response_code"]) == ("delivered", 3, 200)
    await replica.sender.close()


async def test_410_fails_the_delivery_and_deactivates_the_webhook_audited(
    events_pool: asyncpg.Pool,
    db: asyncpg.Connection,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    clock: MovableClock,
    hook: Receiver,
) -> None:
    hook.default = status(410)
    webhook_id, _ = await make_webhook(db, org, hook.url())
    await make_event(db, org, clock())
    replica = build_pipeline(events_pool, redis_client, keys, clock)
    await replica.step()
    [row] = await deliveries_of(db, webhook_id)
    assert (row["status"], row["attempt_count"], row["last_response_code"]) == ("failed", 1, 410)
    webhook = await db.fetchrow("SELECT active, version FROM webhooks WHERE id = $1", webhook_id)
    assert webhook is not None
    assert (webhook["active"], webhook["version"]) == (False, 2)
    audit = await db.fetchrow("SELECT * FROM audit_logs WHERE entity_type = 'webhook' AND entity_id = $1", webhook_id)
    assert audit is not None
    assert audit["action"] == "update" and audit["entity_version"] == 2 and audit["user_id"] is None
    assert audit["details"] == {"deactivated": "410 Gone", "delivery_id": str(row["id"]), "actor": {"job": "system"}}
    [letter] = await stream_entries(redis_client, keys.dead_letter_stream)
    assert letter["source"] == "webhook" and letter["id"] == str(row["id"])
    # later events make no delivery for the inactive webhook; a pending one is failed without being sent
    await make_event(db, org, clock())
    await replica.step()
    assert len(await deliveries_of(db, webhook_id)) == 1
    event_id = await make_event(db, org, clock())
    await db.execute(
        "INSERT INTO webhook_deliveries (org_id, webhook_id, event_id, next_attempt_at) VALUES ($1, $2, $3, $4)",
        org,
        webhook_id,
        event_id,
        clock(),
    )
    await replica.dispatch()
    rows = await deliveries_of(db, webhook_id)
    assert [(r["status"], r["last_error"]) for r in rows][-1] == ("failed", "webhook inactive")
    assert len(hook.received) == 1
    await replica.sender.close()


async def test_a_redirect_is_a_failure_and_is_not_followed(
    events_pool: asyncpg.Pool,
    db: asyncpg.Connection,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    clock: MovableClock,
    hook: Receiver,
) -> None:
    hook.default = status(302, {"Location": hook.url("/elsewhere")})
    webhook_id, _ = await make_webhook(db, org, hook.url())
    await make_event(db, org, clock())
    replica = build_pipeline(events_pool, redis_client, keys, clock)
    await replica.step()
    [row] = await deliveries_of(db, webhook_id)
    assert (row["status"], row["last_response_code"]) == ("pending", 302)
    assert row["last_error"] == "HTTP 302: redirect not followed"
    assert [r.path for r in hook.received] == ["/hook"]
    await replica.sender.close()


async def test_a_receiver_that_hangs_times_out_and_is_retried(
    events_pool: asyncpg.Pool,
    db: asyncpg.Connection,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    clock: MovableClock,
    hook: Receiver,
) -> None:
    release = asyncio.Event()
    hook.default = hang(release)
    webhook_id, _ = await make_webhook(db, org, hook.url())
    await make_event(db, org, clock())
    replica = build_pipeline(events_pool, redis_client, keys, clock, timeout=0.3)
    try:
        await replica.step()
    finally:
        release.set()
    [row] = await deliveries_of(db, webhook_id)
    assert (row["status"], row["attempt_count"], row["last_error"]) == ("pending", 1, "timeout after 0.3s")
    assert row["last_response_code"] is None and row["locked_by"] is None
    await replica.sender.close()


async def test_during_a_rotation_both_secrets_verify_and_after_it_only_the_new_one(
    events_pool: asyncpg.Pool,
    db: asyncpg.Connection,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    clock: MovableClock,
    hook: Receiver,
) -> None:
    webhook_id, old_secret = await make_webhook(db, org, hook.url())
    new_secret = "ab" * 32
    await db.execute(
        "UPDATE webhooks SET secret = $2, previous_secret = $3, previous_secret_expires_at = $4 WHERE id = $1",
        webhook_id,
        new_secret,
        old_secret,
        clock() + timedelta(hours=24),
    )
    replica = build_pipeline(events_pool, redis_client, keys, clock)
    await make_event(db, org, clock())
    await replica.step()
    clock.advance(timedelta(hours=24, seconds=1))
    await make_event(db, org, clock())
    await replica.step()
    during, after = hook.received
    for received, old_verifies in ((during, True), (after, False)):
        signature, timestamp = received.headers["X-Webhook-Signature"], received.headers["X-Webhook-Timestamp"]
        now_ms = int(timestamp)
        assert verify(new_secret, signature, timestamp, received.body, now_ms=now_ms)
        assert verify(old_secret, signature, timestamp, received.body, now_ms=now_ms) is old_verifies
    assert len(during.headers["X-Webhook-Signature"].split()) == 2
    assert during.headers["X-Webhook-Signature"].split()[0].startswith("v1=")
    assert len(after.headers["X-Webhook-Signature"].split()) == 1
    await replica.sender.close()


async def test_production_refuses_private_destinations_at_delivery(
    events_pool: asyncpg.Pool,
    db: asyncpg.Connection,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    clock: MovableClock,
    hook: Receiver,
) -> None:
    port = hook.server.port
    targets = [
        f"http://127.0.0.1:{port}/hook",
        "http://10.0.0.1/hook",
        "http://169.254.169.254/latest/meta-data",
        f"http://[::1]:{port}/hook",
        f"http://localhost:{port}/hook",
    ]
    webhooks = [(await make_webhook(db, org, url))[0] for url in targets]
    await make_event(db, org, clock())
    replica = build_pipeline(events_pool, redis_client, keys, clock, public_only=True, timeout=2.0)
    await replica.step()
    for webhook_id, url in zip(webhooks, targets, strict=True):
        [row] = await deliveries_of(db, webhook_id)
        assert row["status"] == "failed", url
        assert row["last_error"].startswith("destination is not public"), (url, row["last_error"])
        assert row["last_response_code"] is None
    assert hook.received == []
    letters = await stream_entries(redis_client, keys.dead_letter_stream)
    assert sorted(letter["source"] for letter in letters) == ["webhook"] * 5
    await replica.sender.close()


async def test_deliveries_to_one_slow_url_do_not_hold_up_another(
    events_pool: asyncpg.Pool,
    db: asyncpg.Connection,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    clock: MovableClock,
    hook: Receiver,
) -> None:
    release = asyncio.Event()
    hook.default = hang(release)
    slow_id, _ = await make_webhook(db, org, hook.url("/slow"))
    async with receiver() as fast:
        fast_id, _ = await make_webhook(db, org, fast.url())
        for _ in range(6):
            await make_event(db, org, clock())
        replica = build_pipeline(
            events_pool, redis_client, keys, clock, dispatcher=DispatcherConfig(owner="bounded", per_url=2)
        )
        while (await replica.publish()).claimed:
            pass
        while await replica.fan():
            pass
        assert await replica.dispatcher.dispatch_once() == 4  # two per URL
        await wait_until(lambda: _count(fast, 2), "the fast receiver's first two")
        # the hanging URL stays at its bound; the other one's deliveries go on around it
        for expected in (4, 6):
            await wait_until(lambda: _idle(replica, 2), "the fast deliveries to finish")
            assert await replica.dispatcher.dispatch_once() == 2
            await wait_until(partial(_count, fast, expected), f"{expected} deliveries at the fast receiver")
        await wait_until(lambda: _idle(replica, 2), "the fast deliveries to finish")
        assert await replica.dispatcher.dispatch_once() == 0
        assert len(hook.received) == 2
        assert [r["status"] for r in await deliveries_of(db, fast_id)] == ["delivered"] * 6
        release.set()
        await replica.dispatcher.drain()
        statuses = [r["status"] for r in await deliveries_of(db, slow_id)]
        assert sorted(statuses) == ["delivered"] * 2 + ["pending"] * 4
    await replica.sender.close()


async def _count(hook: Receiver, expected: int) -> bool:
    return len(hook.received) >= expected


async def _idle(replica: Pipeline, in_flight: int) -> bool:
    return replica.dispatcher.in_flight <= in_flight


async def test_a_stale_dispatcher_never_overwrites_a_newer_result_and_a_held_delivery_is_not_sent_twice(
    events_pool: asyncpg.Pool,
    db: asyncpg.Connection,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    clock: MovableClock,
    hook: Receiver,
) -> None:
    webhook_id, _ = await make_webhook(db, org, hook.url())
    await make_event(db, org, clock())
    stale = build_pipeline(events_pool, redis_client, keys, clock, name="stale")
    while await stale.fan() or (await stale.publish()).claimed:
        pass
    store = PgDeliveryStore(events_pool)
    [held] = await store.claim_due("stale:1", clock(), timedelta(seconds=60), 10, {}, 4)
    fresh = build_pipeline(events_pool, redis_client, keys, clock, name="fresh")
    assert await fresh.dispatch() == 0  # in flight elsewhere: not sent again
    clock.advance(timedelta(seconds=61))  # the stale claim's lease ran out
    assert await fresh.dispatch() == 1
    [row] = await deliveries_of(db, webhook_id)
    assert (row["status"], row["attempt_count"]) == ("delivered", 1)
    # the stale replica's late attempt (answered 500) is not recorded over the newer result
    hook.default = status(500)
    late = await stale.dispatcher.deliver(held, "stale:1")
    assert late.status.value == "pending"
    [after] = await deliveries_of(db, webhook_id)
    assert (after["status"], after["attempt_count"], after["updated_at"]) == ("delivered", 1, row["updated_at"])
    await stale.sender.close()
    await fresh.sender.close()


async def test_a_pending_delivery_of_a_deleted_webhook_is_failed_without_being_sent(
    events_pool: asyncpg.Pool,
    db: asyncpg.Connection,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    clock: MovableClock,
    hook: Receiver,
) -> None:
    webhook_id, _ = await make_webhook(db, org, hook.url())
    await make_event(db, org, clock())
    replica = build_pipeline(events_pool, redis_client, keys, clock)
    while (await replica.publish()).claimed:
        pass
    await replica.fan()
    await db.execute("UPDATE webhooks SET deleted_at = now() WHERE id = $1", webhook_id)
    assert await replica.dispatch() == 1
    [row] = await deliveries_of(db, webhook_id)
    assert (row["status"], row["last_error"], row["attempt_count"]) == ("failed", "webhook deleted", 0)
    assert hook.received == []
    await replica.sender.close()


async def test_a_test_delivery_is_sent_to_its_webhook_even_when_inactive(
    events_pool: asyncpg.Pool,
    db: asyncpg.Connection,
    redis_client: redis.Redis,
    keys: KeySpace,
    org: uuid.UUID,
    clock: MovableClock,
    hook: Receiver,
) -> None:
    webhook_id, secret = await make_webhook(db, org, hook.url(), ["part_reserved"], active=False)
    delivery_id = uuid.uuid4()
    event_id = await make_event(
        db,
        org,
        clock(),
        event_type="webhook.test",
        aggregate_type="webhook",
        aggregate_id=webhook_id,
        data={"delivery_id": str(delivery_id), "test": True},
    )
    replica = build_pipeline(events_pool, redis_client, keys, clock)
    await replica.step()
    [received] = hook.received
    assert received.headers["X-Webhook-Event"] == "webhook.test"
    assert received.headers["X-Webhook-Delivery-Id"] == str(delivery_id)
    signature, timestamp = received.headers["X-Webhook-Signature"], received.headers["X-Webhook-Timestamp"]
    assert verify(secret, signature, timestamp, received.body, now_ms=int(timestamp))
    body = orjson.loads(received.body)
    assert body["event_id"] == str(event_id) and body["webhook_id"] == str(webhook_id) and body["data"]["test"]
    [row] = await deliveries_of(db, webhook_id)
    assert (row["id"], row["status"]) == (delivery_id, "delivered")
    await replica.sender.close()
