"""The event pipeline under test: real webhook receivers (aiohttp servers), rows made by SQL, and the loops
built over a database of the tests' own with an injected clock, stepped by hand (no real backoff waits)."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import redis.asyncio as redis
from aiohttp import web
from aiohttp.test_utils import TestServer

from amss.app.clock import Clock
from amss.domain.events import DomainEvent
from amss.infra.http.webhook_client import AiohttpWebhookSender
from amss.infra.postgres.deliveries_repo import PgDeliveryStore
from amss.infra.postgres.outbox_publishing_repo import PgOutboxPublishing
from amss.infra.redis.event_stream import RedisEventStream
from amss.infra.redis.keys import KeySpace
from amss.jobs.events.dispatcher import DispatcherConfig, WebhookDispatcher
from amss.jobs.events.fanout import EventFanOut, FanOutConfig
from amss.jobs.events.publisher import OutboxPublisher, PublisherConfig, PublishRound


class MovableClock:
    """A clock the test moves; it starts at the real time so rows the database dates with now() are due."""

    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by

    def to(self, when: datetime) -> None:
        self.now = max(self.now, when)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


Answer = Callable[[web.Request], Awaitable[web.StreamResponse]]


def status(code: int, headers: dict[str, str] | None = None, body: str = "") -> Answer:
    async def answer(_: web.Request) -> web.StreamResponse:
        return web.Response(status=code, headers=headers, text=body)

    return answer


def hang(release: asyncio.Event) -> Answer:
    async def answer(_: web.Request) -> web.StreamResponse:
        await asyncio.wait_for(release.wait(), 60)
        return web.Response(status=200)

    return answer


@dataclass
class Receiver:
    """A webhook receiver: records every request, answers from a script (then `default`)."""

    server: TestServer
    received: list[Received] = field(default_factory=list)
    script: deque[Answer] = field(default_factory=deque)
    default: Answer = field(default_factory=lambda: status(200, body="ok"))
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str = "/hook") -> str:
        return str(self.server.make_url(path))

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.received.append(Received(request.path, dict(request.headers), await request.read()))
        self.arrived.set()
        answer = self.script.popleft() if self.script else self.default
        return await answer(request)

    def on(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    app = web.Application()
    holder: list[Receiver] = []

    async def route(request: web.Request) -> web.StreamResponse:
        return await holder[0].handle(request)

    app.router.add_route("*", "/{tail:.*}", route)
    server = TestServer(app, host="127.0.0.1")
    holder.append(Receiver(server))
    await server.start_server()
    try:
        yield holder[0]
    finally:
        await server.close()


async def make_webhook(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    url: str,
    events: Sequence[str] = ("task_created",),
    *,
    active: bool = True,
) -> tuple[uuid.UUID, str]:
    secret = secrets.token_hex(32)
    webhook_id: uuid.UUID = await conn.fetchval(
        "INSERT INTO webhooks (org_id, url, events, secret, active) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        org_id,
        url,
        list(events),
        secret,
        active,
    )
    return webhook_id, secret


async def make_event(
    conn: asyncpg.Connection,
    org_id: uuid.UUID,
    at: datetime,
    *,
    aggregate_id: uuid.UUID | None = None,
    event_type: str = "task_created",
    aggregate_type: str = "task",
    data: dict[str, Any] | None = None,
) -> uuid.UUID:
    """An outbox row shaped as the journal writes it, recorded at `at` and due then."""
    event_id = uuid.uuid4()
    aggregate = aggregate_id or uuid.uuid4()
    if event_type == "webhook.test":
        payload: dict[str, Any] = {
            "version": 1,
            "event_id": str(event_id),
            "event_type": event_type,
            "org_id": str(org_id),
            "occurred_at": at.isoformat(),
            "webhook_id": str(aggregate),
            "data": data or {},
        }
    else:
        payload = DomainEvent(event_type, org_id, aggregate_type, aggregate, at, f"x:{event_id}", data or {}).payload(
            event_id
        )
    await conn.execute(
        "INSERT INTO outbox_events (id, org_id, aggregate_type, aggregate_id, event_type, payload, dedupe_key,"
        " created_at, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        event_id,
        org_id,
        aggregate_type,
        aggregate,
        event_type,
        payload,
        f"test:{event_id}",
        at,
    )
    return event_id


@dataclass
class Pipeline:
    """One replica's publisher, fan-out and dispatcher over the given pool and key space, stepped by the test."""

    name: str
    clock: Clock
    stream: RedisEventStream
    publisher: OutboxPublisher
    fan_out: EventFanOut
    dispatcher: WebhookDispatcher
    sender: AiohttpWebhookSender

    async def publish(self) -> PublishRound:
        return await self.publisher.publish_once()

    async def fan(self) -> int:
        return await self.fan_out.read_once()

    async def dispatch(self) -> int:
        claimed = await self.dispatcher.dispatch_once()
        await self.dispatcher.drain()
        return claimed

    async def step(self) -> None:
        """Publish what is due, fan out what the stream holds, send what is due; wait for the answers."""
        while (await self.publish()).claimed:
            pass
        while await self.fan():
            pass
        while await self.dispatch():
            pass


def build_pipeline(
    pool: asyncpg.Pool,
    client: redis.Redis,
    keys: KeySpace,
    clock: Clock,
    *,
    name: str | None = None,
    timeout: float = 10.0,
    public_only: bool = False,
    publisher: PublisherConfig | None = None,
    dispatcher: DispatcherConfig | None = None,
    fan_out: FanOutConfig | None = None,
    random_source: Callable[[], float] = lambda: 0.0,
) -> Pipeline:
    name = name or f"replica-{uuid.uuid4().hex[:6]}"
    stream = RedisEventStream(client, keys)
    deliveries = PgDeliveryStore(pool)
    sender = AiohttpWebhookSender(timeout=timeout, public_only=public_only)
    dispatch = WebhookDispatcher(
        dispatcher or DispatcherConfig(owner=name), deliveries, sender, stream, clock=clock, random_source=random_source
    )
    return Pipeline(
        name,
        clock,
        stream,
        OutboxPublisher(
            publisher or PublisherConfig(owner=name),
            PgOutboxPublishing(pool),
            stream,
            clock=clock,
            random_source=random_source,
        ),
        EventFanOut(
            fan_out or FanOutConfig(consumer=name, block=timedelta(milliseconds=50)), stream, deliveries, clock=clock
        ),
        dispatch,
        sender,
    )


async def stream_entries(client: redis.Redis, name: str) -> list[dict[str, str]]:
    entries: Any = await client.xrange(name)
    return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in entries]


async def deliveries_of(conn: asyncpg.Connection, webhook_id: uuid.UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        "SELECT * FROM webhook_deliveries WHERE webhook_id = $1 ORDER BY created_at, id", webhook_id
    )
