"""The outbox publisher's claims (leases), marks and backlog, over the events pool.

A claim is one statement, so it commits at once: lock due rows with SKIP LOCKED in publish
order (`seq`, see migration 00016), drop each row that has an earlier unpublished event of its
aggregate outside the batch (held by another publisher, leased, or waiting for a retry), and
lease the rest to the owner's token (`locked_at`, `locked_by`). A row whose lease ran out is
due again. Marks apply only to rows whose `locked_by` is still the owner's token.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from amss.app.events.ports import OutboxRecord, Retry

_CLAIM = """
WITH candidate AS (
    SELECT c.id, c.org_id, c.aggregate_type, c.aggregate_id, c.seq FROM outbox_events c
    WHERE c.processed_at IS NULL AND c.next_attempt_at <= $1 AND (c.locked_at IS NULL OR c.locked_at <= $2)
      -- not behind an earlier event of its aggregate that waits for its retry or is leased elsewhere, so
      -- a held-back aggregate's queue never fills the batch and holds up everything after it
      AND NOT EXISTS (
          SELECT 1 FROM outbox_events e
          WHERE e.org_id = c.org_id AND e.aggregate_type = c.aggregate_type AND e.aggregate_id = c.aggregate_id
            AND e.processed_at IS NULL AND e.seq < c.seq AND (e.next_attempt_at > $1 OR e.locked_at > $2)
          OFFSET 0  -- kept a per-row probe of the aggregate index, not planned as a scan of every row
      )
    ORDER BY c.seq
    LIMIT $3
    FOR UPDATE OF c SKIP LOCKED
), blocked AS (
    -- an earlier unpublished event of the same aggregate that is not in this batch: row-locked by a
    -- claim in progress (skipped above), or leased or scheduled since (LATERAL ... LIMIT 1: one index
    -- probe per candidate)
    SELECT c.id FROM candidate c
    CROSS JOIN LATERAL (
        SELECT 1 FROM outbox_events o
        WHERE o.org_id = c.org_id AND o.aggregate_type = c.aggregate_type AND o.aggregate_id = c.aggregate_id
          AND o.processed_at IS NULL AND o.seq < c.seq AND NOT o.id = ANY (ARRAY(SELECT id FROM candidate))
        LIMIT 1
    ) earlier
)
UPDATE outbox_events o SET locked_at = $1, locked_by = $4
WHERE o.id = ANY (ARRAY(SELECT id FROM candidate WHERE NOT id = ANY (ARRAY(SELECT id FROM blocked))))
RETURNING o.id, o.org_id, o.aggregate_type, o.aggregate_id, o.event_type, o.payload::text AS payload,
          o.traceparent, o.attempt_count, o.seq
"""

_PUBLISHED = """
UPDATE outbox_events SET processed_at = $3, locked_at = NULL, locked_by = NULL, last_error = NULL
WHERE id = ANY ($1::uuid[]) AND locked_by = $2 AND processed_at IS NULL
"""

_RETRY = """
UPDATE outbox_events o
SET attempt_count = o.attempt_count + 1, last_error = r.error, next_attempt_at = r.next_attempt_at,
    locked_at = NULL, locked_by = NULL
FROM unnest($1::uuid[], $2::text[], $3::timestamptz[]) AS r(id, error, next_attempt_at)
WHERE o.id = r.id AND o.locked_by = $4 AND o.processed_at IS NULL
"""

_FAILED = """
UPDATE outbox_events o
SET attempt_count = o.attempt_count + 1, last_error = r.error, failed_at = $4, processed_at = $4,
    locked_at = NULL, locked_by = NULL
FROM unnest($1::uuid[], $2::text[]) AS r(id, error)
WHERE o.id = r.id AND o.locked_by = $3 AND o.processed_at IS NULL
RETURNING o.id
"""

# the lowest seq is (nearly) the oldest row, found at the head of the unpublished index rather than by a scan
_OLDEST = "SELECT created_at FROM outbox_events WHERE processed_at IS NULL ORDER BY seq LIMIT 1"
_PENDING_DELIVERIES = "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'"


class PgOutboxPublishing:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def claim(self, owner: str, now: datetime, lease: timedelta, limit: int) -> list[OutboxRecord]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_CLAIM, now, now - lease, limit, owner)
        records = [
            OutboxRecord(
                id=row["id"],
                org_id=row["org_id"],
                aggregate_type=row["aggregate_type"],
                aggregate_id=row["aggregate_id"],
                event_type=row["event_type"],
                payload=row["payload"].encode(),
                traceparent=row["traceparent"],
                attempt_count=row["attempt_count"],
                seq=row["seq"],
            )
            for row in rows
        ]
        records.sort(key=lambda record: record.seq)
        return records

    async def mark_published(self, ids: Sequence[uuid.UUID], owner: str, now: datetime) -> int:
        if not ids:
            return 0
        async with self._pool.acquire() as conn:
            status = await conn.execute(_PUBLISHED, list(ids), owner, now)
        return int(status.split()[-1])

    async def mark_retry(self, retries: Sequence[Retry], owner: str) -> int:
        if not retries:
            return 0
        async with self._pool.acquire() as conn:
            status = await conn.execute(
                _RETRY,
                [r.id for r in retries],
                [_text(r.error) for r in retries],
                [r.next_attempt_at for r in retries],
                owner,
            )
        return int(status.split()[-1])

    async def mark_failed(self, failures: Sequence[Retry], owner: str, now: datetime) -> list[uuid.UUID]:
        if not failures:
            return []
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_FAILED, [f.id for f in failures], [_text(f.error) for f in failures], owner, now)
        return [row["id"] for row in rows]


class PgEventBacklog:
    """What a person on call wants to see: how old the oldest unpublished event is, how many deliveries wait."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def oldest_unpublished_age(self, now: datetime) -> float:
        async with self._pool.acquire() as conn:
            oldest: datetime | None = await conn.fetchval(_OLDEST)
        return 0.0 if oldest is None else max((now - oldest).total_seconds(), 0.0)

    async def pending_deliveries(self) -> int:
        async with self._pool.acquire() as conn:
            count: int = await conn.fetchval(_PENDING_DELIVERIES)
        return count


def _text(error: str) -> str:
    """An error as a text column takes it: no NUL, bounded."""
    return error.replace("\x00", "\ufffd")[:2000]
