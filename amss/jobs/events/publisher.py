"""The outbox publisher: a continuous loop that leases due outbox rows, XADDs them to `{prefix}.events` and marks them.

One round: claim a batch (a lease under a fresh token: `locked_at`, `locked_by`, committed), XADD
it in publish order (one MULTI/EXEC), mark published only the rows the token still holds. A failed
XADD schedules the row again (`attempt_count + 1`, `last_error`, `next_attempt_at` after exponential
backoff with jitter, capped at 1 h); past `max_attempts` the row gets one `{prefix}.dlq` entry and
is kept as failed. A later event of an aggregate whose earlier one failed in the same batch is not
counted as published: it goes again after the earlier one (duplicates are allowed, reordering is not).
A publisher that dies between XADD and marking leaves its rows leased; once the lease runs out
another publisher sends them again (at least once; consumers deduplicate on event_id).

`run` keeps `concurrency` rounds going (one claims while another XADDs and marks); each runs a full
batch again at once and otherwise waits `poll_interval` (or a `wake()`).
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from amss.app.clock import Clock, utc_now
from amss.app.events.ports import DeadLetter, EventStream, OutboxPublishing, OutboxRecord, Retry
from amss.domain.retries import Random, backoff_delay
from amss.jobs.events.pacing import pause
from amss.observability.event_metrics import EventMetrics

log = logging.getLogger(__name__)

AfterPublish = Callable[[Sequence[OutboxRecord]], Awaitable[None]]


@dataclass(frozen=True)
class PublisherConfig:
    owner: str  # the replica (worker id); each claim's token is `{owner}:{random}`
    batch_size: int = 500
    lease: timedelta = timedelta(seconds=30)
    poll_interval: float = 0.1
    max_attempts: int = 10
    backoff_base: timedelta = timedelta(seconds=1)
    backoff_max: timedelta = timedelta(hours=1)
    error_pause: float = 1.0  # after an unexpected failure of a round (Postgres down, say)
    # rounds in flight at once (one claims while another XADDs and marks); the claim's per-aggregate
    # rule keeps them apart exactly as it keeps two replicas apart
    concurrency: int = 2


@dataclass
class PublishRound:
    claimed: int = 0
    published: int = 0
    retried: int = 0
    failed: int = 0
    lost_lease: int = 0  # published, but another publisher took the rows over first
    dead_lettered: list[uuid.UUID] = field(default_factory=list)


class OutboxPublisher:
    def __init__(
        self,
        config: PublisherConfig,
        outbox: OutboxPublishing,
        stream: EventStream,
        *,
        clock: Clock = utc_now,
        random_source: Random = random.random,
        metrics: EventMetrics | None = None,
        after_publish: AfterPublish | None = None,
        on_published: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self._outbox = outbox
        self._stream = stream
        self._clock = clock
        self._random = random_source
        self._metrics = metrics
        self._after_publish = after_publish
        self._on_published = on_published
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def publish_once(self) -> PublishRound:
        config = self.config
        token = f"{config.owner}:{uuid.uuid4().hex[:16]}"
        records = await self._outbox.claim(token, self._clock(), config.lease, config.batch_size)
        result = PublishRound(claimed=len(records))
        if not records:
            return result
        errors = await self._stream.publish(records)
        if self._after_publish is not None:
            await self._after_publish(records)
        published: list[uuid.UUID] = []
        unpublished: list[tuple[OutboxRecord, str]] = []
        broken: dict[tuple[str, uuid.UUID, uuid.UUID], str] = {}
        for record, error in zip(records, errors, strict=True):
            aggregate = (record.aggregate_type, record.org_id, record.aggregate_id)
            if error is None and aggregate in broken:
                error = f"an earlier event of its aggregate was not published: {broken[aggregate]}"
            if error is None:
                published.append(record.id)
            else:
                broken.setdefault(aggregate, error)
                unpublished.append((record, error))
        now = self._clock()
        marked = await self._outbox.mark_published(published, token, now)
        result.published = marked
        result.lost_lease = len(published) - marked
        if unpublished:
            await self._schedule_again(unpublished, token, result)
        if self._metrics is not None:
            self._metrics.processed.inc(marked)
            self._metrics.failed.inc(len(unpublished))
        if marked and self._on_published is not None:
            self._on_published()
        return result

    async def _schedule_again(
        self, unpublished: list[tuple[OutboxRecord, str]], token: str, result: PublishRound
    ) -> None:
        config, now = self.config, self._clock()
        retries: list[Retry] = []
        give_up: list[tuple[OutboxRecord, str]] = []
        for record, error in unpublished:
            attempt = record.attempt_count + 1
            if attempt >= config.max_attempts:
                give_up.append((record, error))
            else:
                delay = backoff_delay(attempt, config.backoff_base, config.backoff_max, self._random)
                retries.append(Retry(record.id, error, now + delay))
        if give_up:
            letters = [
                DeadLetter("outbox", r.id, r.org_id, f"not published after {r.attempt_count + 1} attempts: {e}")
                for r, e in give_up
            ]
            try:
                # the dead letter first: while Redis cannot take it either, the row is not given up
                await self._stream.dead_letter(letters)
            except Exception as exc:  # Redis unavailable: retry the row later instead
                log.warning("dead letter not written; the event is retried", extra={"error": repr(exc)})
                delay = backoff_delay(config.max_attempts, config.backoff_base, config.backoff_max, self._random)
                retries.extend(Retry(r.id, e, now + delay) for r, e in give_up)
                give_up = []
            else:
                failures = [Retry(r.id, e, now) for r, e in give_up]
                result.dead_lettered = await self._outbox.mark_failed(failures, token, now)
                result.failed = len(result.dead_lettered)
                if self._metrics is not None:
                    self._metrics.dead_letters.labels("outbox").inc(len(letters))
        result.retried = await self._outbox.mark_retry(retries, token)

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop` is set, `concurrency` rounds at a time."""
        await asyncio.gather(*(self._rounds(stop) for _ in range(max(1, self.config.concurrency))))

    async def _rounds(self, stop: asyncio.Event) -> None:
        """One lane: a full batch goes again at once, otherwise wait a poll interval."""
        while not stop.is_set():
            try:
                round_ = await self.publish_once()
            except Exception:  # Postgres or Redis away: log, pause, go on
                log.exception("outbox publish round failed")
                await pause(stop, self._wake, self.config.error_pause)
                continue
            if round_.claimed < self.config.batch_size:
                await pause(stop, self._wake, self.config.poll_interval)
