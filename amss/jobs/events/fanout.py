"""The fan-out consumer: reads `{prefix}.events` in group `amss.workers`, writes the webhook deliveries, then XACKs.

Each entry becomes one `webhook_deliveries` row per live webhook of its organization subscribed
to its type (a `webhook.test` event: one row, for the webhook it tests), inserted with `ON CONFLICT
DO NOTHING`; the entries are acknowledged only after that insert committed, so a crash in between
redelivers them and the unique key makes the repeat harmless. Entries a dead consumer left pending
longer than `claim_idle` (well above the slowest handling, which the events pool's statement
timeout bounds) are taken over with XAUTOCLAIM. An entry handed out more than `max_deliveries`
times, or one that cannot be read at all, goes to `{prefix}.dlq` and is acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from amss.app.clock import Clock, utc_now
from amss.app.events.ports import DeadLetter, DeliveryStore, EventStream, StreamEntry
from amss.jobs.events.pacing import pause
from amss.observability.event_metrics import EventMetrics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FanOutConfig:
    consumer: str  # the replica (worker id)
    batch_size: int = 200
    block: timedelta = timedelta(seconds=1)
    claim_idle: timedelta = timedelta(seconds=60)
    claim_every: timedelta = timedelta(seconds=15)
    max_deliveries: int = 10
    error_pause: float = 1.0


class EventFanOut:
    def __init__(
        self,
        config: FanOutConfig,
        stream: EventStream,
        deliveries: DeliveryStore,
        *,
        clock: Clock = utc_now,
        metrics: EventMetrics | None = None,
        on_deliveries: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self._stream = stream
        self._deliveries = deliveries
        self._clock = clock
        self._metrics = metrics
        self._on_deliveries = on_deliveries

    async def handle(self, entries: Sequence[StreamEntry]) -> int:
        """Fan the entries out and acknowledge them; the number of deliveries created."""
        if not entries:
            return 0
        letters: list[DeadLetter] = []
        events: list[tuple[StreamEntry, tuple[uuid.UUID, uuid.UUID]]] = []
        for entry in entries:
            if entry.event_id is None or entry.org_id is None:
                letters.append(DeadLetter("outbox", entry.entry_id, entry.org_id, "unreadable events stream entry"))
            elif entry.deliveries > self.config.max_deliveries:
                letters.append(
                    DeadLetter("outbox", entry.event_id, entry.org_id, f"fan-out failed {entry.deliveries - 1} times")
                )
            else:
                events.append((entry, (entry.org_id, entry.event_id)))
        if letters:
            await self._stream.dead_letter(letters)
            if self._metrics is not None:
                self._metrics.dead_letters.labels("outbox").inc(len(letters))
        created = await self._deliveries.fan_out([pair for _, pair in events], self._clock())
        await self._stream.ack([entry.entry_id for entry in entries])
        if self._metrics is not None:
            self._metrics.fanned_out.inc(created)
        if created and self._on_deliveries is not None:
            self._on_deliveries()
        return created

    async def read_once(self, *, own_pending: bool = False) -> int:
        """Read one batch (new entries, or this consumer's own pending ones) and handle it; entries read."""
        config = self.config
        entries = await self._stream.read(
            config.consumer, config.batch_size, int(config.block.total_seconds() * 1000), own_pending=own_pending
        )
        await self.handle(entries)
        return len(entries)

    async def reclaim_once(self) -> int:
        """Take over and handle entries left pending by a consumer that stopped; how many."""
        config = self.config
        entries = await self._stream.reclaim(
            config.consumer, int(config.claim_idle.total_seconds() * 1000), config.batch_size
        )
        await self.handle(entries)
        return len(entries)

    async def run(self, stop: asyncio.Event) -> None:
        config = self.config
        await self._stream.ensure_group()
        own_pending = True  # first what this consumer name left unacknowledged
        next_claim = 0.0
        loop = asyncio.get_running_loop()
        idle = asyncio.Event()
        while not stop.is_set():
            try:
                if loop.time() >= next_claim:
                    next_claim = loop.time() + config.claim_every.total_seconds()
                    while await self.reclaim_once() >= config.batch_size and not stop.is_set():
                        pass
                read = await self.read_once(own_pending=own_pending)
                if own_pending and read == 0:
                    own_pending = False
            except asyncio.CancelledError:
                raise
            except Exception:  # Postgres or Redis away: the entries stay pending; retried from this consumer's PEL
                log.exception("event fan-out failed; retrying the pending entries")
                own_pending = True
                await pause(stop, idle, config.error_pause)
