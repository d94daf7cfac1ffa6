"""The event pipeline's part of the composition root: its own Postgres pool (with timeouts), the Redis
stream, the webhook sender, and the three loops (publisher, fan-out, dispatcher) wired to each other."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta

from prometheus_client import CollectorRegistry

from amss.bootstrap.resources import Resources
from amss.config import Settings
from amss.infra.http.webhook_client import AiohttpWebhookSender
from amss.infra.postgres.deliveries_repo import PgDeliveryStore
from amss.infra.postgres.outbox_publishing_repo import PgEventBacklog, PgOutboxPublishing
from amss.infra.postgres.pool import create_pool
from amss.infra.redis.event_stream import RedisEventStream
from amss.jobs.events.dispatcher import DispatcherConfig, WebhookDispatcher
from amss.jobs.events.fanout import EventFanOut, FanOutConfig
from amss.jobs.events.pipeline import EventPipeline
from amss.jobs.events.publisher import OutboxPublisher, PublisherConfig
from amss.observability.event_metrics import EventMetrics, backlog_gauges


def _ms(value: timedelta) -> str:
    return f"{int(value.total_seconds() * 1000)}ms"


def session_timeouts(settings: Settings) -> dict[str, str]:
    """The events pool's session settings: no statement, lock wait or open idle transaction runs long."""
    return {
        "statement_timeout": _ms(settings.events_statement_timeout),
        "lock_timeout": _ms(settings.events_lock_timeout),
        "idle_in_transaction_session_timeout": _ms(settings.events_idle_in_transaction_timeout),
        "application_name": "amss-events",
    }


def publisher_session(settings: Settings) -> dict[str, str]:
    """The publisher's sessions: the same timeouts, and (unless OUTBOX_SYNCHRONOUS_COMMIT=on) commits that do
    not wait for the WAL flush: a lease or mark lost in a crash only republishes, never loses, an event."""
    session = session_timeouts(settings)
    if not settings.outbox_synchronous_commit:
        session["synchronous_commit"] = "off"
    return session


def event_stream(resources: Resources) -> RedisEventStream:
    return RedisEventStream(resources.redis, resources.keys, maxlen=resources.settings.events_stream_maxlen)


def publisher_config(settings: Settings) -> PublisherConfig:
    return PublisherConfig(
        owner=settings.worker_id,
        batch_size=settings.outbox_batch_size,
        lease=settings.outbox_lease,
        poll_interval=settings.outbox_poll_interval.total_seconds(),
        max_attempts=settings.outbox_max_attempts,
        backoff_base=settings.outbox_backoff_base,
        backoff_max=settings.outbox_backoff_max,
        concurrency=settings.outbox_concurrency,
    )


def fan_out_config(settings: Settings) -> FanOutConfig:
    return FanOutConfig(
        consumer=settings.worker_id,
        claim_idle=settings.events_claim_idle,
        claim_every=settings.events_claim_idle / 4,
        max_deliveries=settings.events_max_deliveries,
    )


def dispatcher_config(settings: Settings) -> DispatcherConfig:
    return DispatcherConfig(
        owner=settings.worker_id,
        lease=settings.webhook_lease,
        concurrency=settings.webhook_concurrency,
        per_url=settings.webhook_per_url_concurrency,
        poll_interval=settings.webhook_poll_interval.total_seconds(),
        backoff_base=settings.webhook_backoff_base,
        backoff_max=settings.webhook_backoff_max,
    )


@asynccontextmanager
async def open_event_pipeline(resources: Resources, registry: CollectorRegistry) -> AsyncIterator[EventPipeline]:
    """The pipeline running over its own pool; stopped (deliveries in flight finished) before the pool closes."""
    settings, clock = resources.settings, resources.clock
    async with AsyncExitStack() as stack:
        pool = await create_pool(
            settings.db_url, min_size=1, max_size=settings.events_db_pool_max, session=session_timeouts(settings)
        )
        stack.push_async_callback(pool.close)
        publishing_pool = await create_pool(
            settings.db_url, min_size=1, max_size=settings.outbox_concurrency + 1, session=publisher_session(settings)
        )
        stack.push_async_callback(publishing_pool.close)
        sender = AiohttpWebhookSender(
            timeout=settings.webhook_timeout.total_seconds(), public_only=settings.is_production
        )
        stack.push_async_callback(sender.close)
        metrics = EventMetrics.register(registry)
        stream = event_stream(resources)
        deliveries = PgDeliveryStore(pool)
        dispatcher = WebhookDispatcher(
            dispatcher_config(settings), deliveries, sender, stream, clock=clock, metrics=metrics
        )
        fan_out = EventFanOut(
            fan_out_config(settings), stream, deliveries, clock=clock, metrics=metrics, on_deliveries=dispatcher.wake
        )
        publisher = OutboxPublisher(
            publisher_config(settings), PgOutboxPublishing(publishing_pool), stream, clock=clock, metrics=metrics
        )
        pipeline = EventPipeline(publisher, fan_out, dispatcher)
        pipeline.start()
        stack.push_async_callback(pipeline.stop, settings.shutdown_grace.total_seconds())
        yield pipeline


def event_backlog_refresher(resources: Resources, registry: CollectorRegistry) -> Callable[[], Awaitable[None]]:
    """The backlog gauges (oldest unpublished event, pending deliveries), refreshed at each scrape."""
    return backlog_gauges(registry, PgEventBacklog(resources.pool), resources.clock)
