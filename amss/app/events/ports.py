"""Ports of the event pipeline (outbox -> `{prefix}.events` -> webhook deliveries -> receivers).

The jobs in `amss/jobs/events` run the loops over these; `amss/bootstrap` passes in the Postgres,
Redis and HTTP implementations (`amss/infra`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from amss.domain.retries import Answer, Decision

DeadLetterSource = Literal["outbox", "webhook", "command", "import"]


@dataclass(frozen=True)
class OutboxRecord:
    """An unpublished outbox row, claimed by one publisher; `payload` is the event body as JSON text."""

    id: uuid.UUID
    org_id: uuid.UUID
    aggregate_type: str
    aggregate_id: uuid.UUID
    event_type: str
    payload: bytes
    traceparent: str | None
    attempt_count: int
    seq: int


@dataclass(frozen=True)
class Retry:
    id: uuid.UUID
    error: str
    next_attempt_at: datetime


@dataclass(frozen=True)
class DeadLetter:
    source: DeadLetterSource
    id: uuid.UUID | str
    org_id: uuid.UUID | None
    error: str


@dataclass(frozen=True)
class StreamEntry:
    """One `{prefix}.events` entry as a consumer read it; ids None when the entry is malformed."""

    entry_id: str
    event_id: uuid.UUID | None
    org_id: uuid.UUID | None
    event_type: str
    deliveries: int = 1  # times the group handed it out (XPENDING's delivery count)


@dataclass(frozen=True)
class DueDelivery:
    """A claimed pending delivery with what sending it needs."""

    id: uuid.UUID
    org_id: uuid.UUID
    webhook_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    payload: bytes
    url: str
    secrets: tuple[str, ...]  # the newest first; the previous one while its overlap lasts
    active: bool
    deleted: bool
    attempt_count: int
    max_attempts: int


@dataclass(frozen=True)
class Sent:
    answer: Answer
    body: str  # the first 1 KiB of the response body, as text


class OutboxPublishing(Protocol):
    async def claim(self, owner: str, now: datetime, lease: timedelta, limit: int) -> list[OutboxRecord]:
        """Lease up to `limit` due rows to `owner` (committed), in publish order, never an aggregate's event
        while an earlier one of that aggregate is unpublished and not among them."""
        ...

    async def mark_published(self, ids: Sequence[uuid.UUID], owner: str, now: datetime) -> int:
        """Mark published the rows of `ids` that `owner` still holds; how many."""
        ...

    async def mark_retry(self, retries: Sequence[Retry], owner: str) -> int: ...

    async def mark_failed(self, failures: Sequence[Retry], owner: str, now: datetime) -> list[uuid.UUID]:
        """Keep as failed (failed_at, processed_at) the rows `owner` still holds; their ids."""
        ...


class EventStream(Protocol):
    async def publish(self, records: Sequence[OutboxRecord]) -> list[str | None]:
        """XADD each record, in order; per record None or the error that kept it out."""
        ...

    async def dead_letter(self, letters: Sequence[DeadLetter]) -> None: ...

    async def ensure_group(self) -> None: ...

    async def read(
        self, consumer: str, count: int, block_ms: int, *, own_pending: bool = False
    ) -> list[StreamEntry]: ...

    async def reclaim(self, consumer: str, min_idle_ms: int, count: int) -> list[StreamEntry]:
        """Take over entries another (dead) consumer left pending longer than `min_idle_ms`, with delivery counts."""
        ...

    async def ack(self, entry_ids: Sequence[str]) -> None: ...


class DeliveryStore(Protocol):
    async def fan_out(self, events: Sequence[tuple[uuid.UUID, uuid.UUID]], now: datetime) -> int:
        """For each (org_id, event_id): the delivery rows of its subscribed webhooks (a repeat adds nothing)."""
        ...

    async def claim_due(
        self, owner: str, now: datetime, lease: timedelta, limit: int, in_flight: Mapping[str, int], per_url: int
    ) -> list[DueDelivery]:
        """Lease up to `limit` due pending deliveries, at most `per_url` in flight per URL counting `in_flight`."""
        ...

    async def record(
        self, delivery: DueDelivery, owner: str, decision: Decision, sent: Sent | None, now: datetime
    ) -> bool:
        """Store an attempt's outcome if `owner` still holds the delivery (and deactivate the webhook when the
        decision says so, audited); False when another claim took it over."""
        ...


class WebhookSender(Protocol):
    async def send(self, url: str, headers: Mapping[str, str], body: bytes) -> Sent: ...

    async def close(self) -> None: ...


class EventBacklog(Protocol):
    async def oldest_unpublished_age(self, now: datetime) -> float:
        """Seconds since the oldest unpublished event was recorded (0 when none)."""
        ...

    async def pending_deliveries(self) -> int: ...
