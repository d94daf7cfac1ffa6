"""The two halves of the webhook feature together: a webhook created, tested and rotated through the REST API
is delivered by the real event pipeline (outbox publisher -> amss.events -> fan-out -> dispatcher) to a real
receiver, signed with the secret the API returned (both secrets during the rotation's overlap)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import orjson
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client import CollectorRegistry

from amss.bootstrap.events import open_event_pipeline
from amss.bootstrap.resources import open_resources
from amss.bootstrap.server import init_server_app
from amss.config import Settings
from amss.domain.webhook_signing import verify
from amss.infra.redis.keys import KeySpace
from tests.api_support import call, make_tenant
from tests.events_support import Receiver
from tests.integration.api.route_samples import raise_rate_limits
from tests.mesh_support import wait_until


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


async def test_a_webhook_made_through_the_api_is_tested_and_rotated_through_the_real_pipeline(
    api_settings: Settings,
    events_db: str,
    db: asyncpg.Connection,
    keys: KeySpace,
    hook: Receiver,
    test_password_hash: str,
) -> None:
    settings = api_settings.model_copy(
        update={"db_url": events_db, "amss_mesh": False, "amss_redis_prefix": keys.prefix, "worker_id": "cross-worker"}
    )
    app = init_server_app(settings)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        tenant = await make_tenant(db, app, test_password_hash)
        await raise_rate_limits(db, tenant.org_id)
        admin = tenant["tenant_admin"]
        status, created, _ = await call(
            client, "POST", "/api/v1/webhooks", admin, json={"url": hook.url(), "events": ["part_reserved"]}
        )
        assert status == 201, created
        webhook_id, first_secret = created["id"], created["secret"]
        async with open_resources(settings) as resources, open_event_pipeline(resources, CollectorRegistry()):
            # a test event reaches this webhook although its events list does not name webhook.test
            status, tested, _ = await call(client, "POST", f"/api/v1/webhooks/{webhook_id}/test", admin)
            assert status == 202, tested
            await wait_until(_arrivals(hook, 1), "the first test delivery to arrive")
            [first] = hook.received
            assert first.headers["X-Webhook-Event"] == "webhook.test"
            assert first.headers["X-Webhook-Delivery-Id"] == tested["delivery_id"]
            event = orjson.loads(first.body)
            assert (event["event_id"], event["event_type"]) == (tested["event_id"], "webhook.test")
            signature, stamp = first.headers["X-Webhook-Signature"], first.headers["X-Webhook-Timestamp"]
            assert verify(first_secret, signature, stamp, first.body, now_ms=_now_ms())

            status, rotated, _ = await call(client, "POST", f"/api/v1/webhooks/{webhook_id}/rotate-secret", admin)
            assert status == 200, rotated
            new_secret = rotated["secret"]
            assert new_secret != first_secret
            status, again, _ = await call(client, "POST", f"/api/v1/webhooks/{webhook_id}/test", admin)
            assert status == 202, again
            assert (again["event_id"], again["delivery_id"]) != (tested["event_id"], tested["delivery_id"])
            await wait_until(_arrivals(hook, 2), "the second test delivery to arrive")
            second = hook.received[1]
            signature, stamp = second.headers["X-Webhook-Signature"], second.headers["X-Webhook-Timestamp"]
            assert len(signature.split()) == 2  # new first, then old, during the overlap
            for secret in (new_secret, first_secret):
                assert verify(secret, signature, stamp, second.body, now_ms=_now_ms())

            async def both_delivered() -> bool:
                status, page, _ = await call(client, "GET", f"/api/v1/webhooks/{webhook_id}/deliveries", admin)
                return status == 200 and [d["status"] for d in page["items"]] == ["delivered", "delivered"]

            await wait_until(both_delivered, "both test deliveries to be listed as delivered")
        status, page, _ = await call(client, "GET", f"/api/v1/webhooks/{webhook_id}/deliveries", admin)
        assert [d["id"] for d in page["items"]] == [again["delivery_id"], tested["delivery_id"]]  # newest first
        assert {d["event_type"] for d in page["items"]} == {"webhook.test"}
        assert len(hook.received) == 2  # each delivery sent once
    finally:
        await client.close()


def _arrivals(hook: Receiver, count: int) -> Callable[[], Awaitable[bool]]:
    async def arrived() -> bool:
        return len(hook.received) >= count

    return arrived
