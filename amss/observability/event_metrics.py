"""The event pipeline's metrics (spec names) and the backlog gauges both processes expose.

Counters (the worker, where the pipeline runs): `outbox_events_processed_total` (events published
to the stream), `outbox_events_failed_total` (publish attempts that failed, including those that
gave up), `webhook_deliveries_total{status}` (delivery attempts by outcome: delivered, retry,
failed). Gauges (server and worker, read from Postgres at each scrape): `outbox_oldest_unpublished_age_seconds`
and `webhook_deliveries_pending`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge

from amss.app.clock import Clock, utc_now
from amss.app.events.ports import EventBacklog


@dataclass(frozen=True)
class EventMetrics:
    processed: Counter
    failed: Counter
    deliveries: Counter
    fanned_out: Counter
    dead_letters: Counter

    @classmethod
    def register(cls, registry: CollectorRegistry) -> EventMetrics:
        return cls(
            processed=Counter(
                "outbox_events_processed_total", "Outbox events published to the events stream", registry=registry
            ),
            failed=Counter(
                "outbox_events_failed_total",
                "Outbox publish attempts that failed (retried or given up)",
                registry=registry,
            ),
            deliveries=Counter(
                "webhook_deliveries_total", "Webhook delivery attempts, by outcome", ["status"], registry=registry
            ),
            fanned_out=Counter(
                "event_fanout_deliveries_total", "Webhook deliveries created from stream entries", registry=registry
            ),
            dead_letters=Counter(
                "dead_letters_total",
                "Entries written to the dead-letter stream, by source",
                ["source"],
                registry=registry,
            ),
        )


def backlog_gauges(
    registry: CollectorRegistry, backlog: EventBacklog, clock: Clock = utc_now
) -> Callable[[], Awaitable[None]]:
    """Register the backlog gauges; the returned coroutine function refreshes them (call it before a scrape)."""
    oldest = Gauge(
        "outbox_oldest_unpublished_age_seconds",
        "Seconds since the oldest outbox event not yet published was recorded (0: none waiting)",
        registry=registry,
    )
    pending = Gauge("webhook_deliveries_pending", "Webhook deliveries waiting to be sent or retried", registry=registry)

    async def refresh() -> None:
        oldest.set(await backlog.oldest_unpublished_age(clock()))
        pending.set(await backlog.pending_deliveries())

    return refresh
