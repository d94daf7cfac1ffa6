"""The webhook dispatcher: leases due pending deliveries, sends them signed, records each outcome.

Claims take due `pending` rows with SKIP LOCKED under a lease longer than the send timeout, so
no other replica sends a delivery while it is in flight; each outcome is stored only while the row
still carries this claim's token, so a replica whose lease ran out never overwrites a newer
result. At most `per_url` deliveries per webhook URL are in flight (counted here and respected by
the claim), so one slow receiver cannot hold the others up, and at most `concurrency` in all.

A delivery is `POST <url>` with the event's JSON as body and the headers docs/events.md lists ("What a
receiver sees"), signed with the webhook's secret (and its previous one while a rotation's
overlap lasts). What an answer means — delivered, retried after a backoff or Retry-After, failed
and dead-lettered, or failed and the webhook deactivated (410) — is `amss.domain.retries.decide`.
A delivery whose webhook was deleted, or deactivated (unless it is a `webhook.test` one), is
failed without sending anything.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from amss.app.clock import Clock, utc_now
from amss.app.events.ports import DeadLetter, DeliveryStore, DueDelivery, EventStream, Sent, WebhookSender
from amss.domain.events import EventType
from amss.domain.retries import Decision, DeliveryStatus, Random, RetryPolicy, decide
from amss.domain.webhook_signing import signature_header
from amss.jobs.events.pacing import pause
from amss.observability.event_metrics import EventMetrics

log = logging.getLogger(__name__)

TEST_EVENT: Final = EventType.WEBHOOK_TEST.value


@dataclass(frozen=True)
class DispatcherConfig:
    owner: str  # the replica (worker id); each claim's token is `{owner}:{random}`
    lease: timedelta = timedelta(seconds=60)  # longer than the sender's timeout
    batch_size: int = 100
    concurrency: int = 64
    per_url: int = 8
    poll_interval: float = 0.1
    backoff_base: timedelta = timedelta(seconds=5)
    backoff_max: timedelta = timedelta(hours=1)
    error_pause: float = 1.0


def delivery_headers(delivery: DueDelivery, timestamp_ms: int) -> dict[str, str]:
    """The headers of one delivery attempt (docs/events.md, "What a receiver sees")."""
    return {
        "Content-Type": "application/json",
        "X-Webhook-Event": delivery.event_type,
        "X-Webhook-Delivery-Id": str(delivery.id),
        "X-Webhook-Timestamp": str(timestamp_ms),
        "X-Webhook-Signature": signature_header(delivery.secrets, timestamp_ms, delivery.payload),
    }


class WebhookDispatcher:
    def __init__(
        self,
        config: DispatcherConfig,
        deliveries: DeliveryStore,
        sender: WebhookSender,
        dead_letters: EventStream,
        *,
        clock: Clock = utc_now,
        random_source: Random = random.random,
        metrics: EventMetrics | None = None,
    ) -> None:
        self.config = config
        self._deliveries = deliveries
        self._sender = sender
        self._dead_letters = dead_letters
        self._clock = clock
        self._random = random_source
        self._metrics = metrics
        self._in_flight: Counter[str] = Counter()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def dispatch_once(self) -> int:
        """Claim what is due (within the concurrency bounds) and start sending it; how many were claimed."""
        config = self.config
        room = min(config.batch_size, config.concurrency - len(self._tasks))
        if room <= 0:
            return 0
        token = f"{config.owner}:{uuid.uuid4().hex[:16]}"
        claimed = await self._deliveries.claim_due(
            token, self._clock(), config.lease, room, dict(self._in_flight), config.per_url
        )
        for delivery in claimed:
            self._in_flight[delivery.url] += 1
            task = asyncio.create_task(self._deliver(delivery, token))
            self._tasks.add(task)
            task.add_done_callback(self._finished)
        return len(claimed)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._wake.set()

    async def drain(self) -> None:
        """Wait for every delivery in flight."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _deliver(self, delivery: DueDelivery, token: str) -> None:
        try:
            await self.deliver(delivery, token)
        except Exception:  # the lease runs out and another claim retries it
            log.exception("webhook delivery not recorded", extra={"delivery_id": str(delivery.id)})
        finally:
            self._in_flight[delivery.url] -= 1
            if self._in_flight[delivery.url] <= 0:
                del self._in_flight[delivery.url]

    async def deliver(self, delivery: DueDelivery, token: str) -> Decision:
        """Send one claimed delivery (unless its webhook is gone) and record what came of it."""
        if delivery.deleted or (not delivery.active and delivery.event_type != TEST_EVENT):
            reason = "webhook deleted" if delivery.deleted else "webhook inactive"
            decision = Decision(DeliveryStatus.FAILED, self._clock(), reason)
            if await self._deliveries.record(delivery, token, decision, None, self._clock()):
                self._count("failed")
            return decision
        timestamp_ms = int(self._clock().timestamp() * 1000)
        sent: Sent = await self._sender.send(delivery.url, delivery_headers(delivery, timestamp_ms), delivery.payload)
        now = self._clock()
        policy = RetryPolicy(self.config.backoff_base, self.config.backoff_max, delivery.max_attempts)
        decision = decide(sent.answer, delivery.attempt_count + 1, policy, now, self._random)
        stored = await self._deliveries.record(delivery, token, decision, sent, now)
        if not stored:
            log.warning("a newer claim took the delivery over; result dropped", extra={"delivery_id": str(delivery.id)})
            return decision
        self._count("retry" if decision.status is DeliveryStatus.PENDING else decision.status.value)
        if decision.dead_letter:
            await self._dead_letters.dead_letter(
                [DeadLetter("webhook", delivery.id, delivery.org_id, decision.error or "delivery failed")]
            )
            if self._metrics is not None:
                self._metrics.dead_letters.labels("webhook").inc()
        return decision

    def _count(self, status: str) -> None:
        if self._metrics is not None:
            self._metrics.deliveries.labels(status).inc()

    async def run(self, stop: asyncio.Event) -> None:
        config = self.config
        try:
            while not stop.is_set():
                try:
                    claimed = await self.dispatch_once()
                except Exception:
                    log.exception("webhook claim failed")
                    await pause(stop, self._wake, config.error_pause)
                    continue
                if claimed < config.batch_size or len(self._tasks) >= config.concurrency:
                    await pause(stop, self._wake, config.poll_interval)
        finally:
            await self.drain()
