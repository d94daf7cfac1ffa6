"""webhook_deliveries as the pipeline writes them: the fan-out's inserts, the dispatcher's claims and results.

Fan-out: one row per live webhook of the event's organization subscribed to its type (a
`webhook.test` event: exactly one row, id = its data.delivery_id, for the webhook it names, if not
deleted); `ON CONFLICT DO NOTHING`, so a redelivered stream entry adds nothing. The event's type and
ids are read from its outbox row, not trusted from the stream entry.

Claims lease due pending rows to a token (SKIP LOCKED, one statement, committed at once) with at
most `per_url` in flight per webhook URL; a result is stored only while the row still carries the
claim's token (compare-and-set), so a replica whose lease ran out never overwrites a newer result.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Final

import asyncpg

from amss.app.events.ports import DueDelivery, Sent
from amss.domain.audit import audit_entry
from amss.domain.enums import AuditAction
from amss.domain.events import EventType
from amss.domain.principal import Actor
from amss.domain.retries import Decision
from amss.infra.postgres.audit_repo import insert_audit_entry

TEST_EVENT: Final = EventType.WEBHOOK_TEST.value
_UUID_TEXT = "'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'"

_FAN_OUT = f"""
WITH event AS (
    SELECT o.org_id, o.id, o.event_type,
           CASE WHEN o.payload->>'webhook_id' ~ {_UUID_TEXT} THEN (o.payload->>'webhook_id')::uuid END AS test_webhook,
           CASE WHEN o.payload->'data'->>'delivery_id' ~ {_UUID_TEXT}
                THEN (o.payload->'data'->>'delivery_id')::uuid END AS test_delivery
    FROM unnest($1::uuid[], $2::uuid[]) AS e(org_id, id)
    JOIN outbox_events o ON o.org_id = e.org_id AND o.id = e.id
)
INSERT INTO webhook_deliveries (id, org_id, webhook_id, event_id, next_attempt_at, created_at, updated_at)
SELECT CASE WHEN e.event_type = '{TEST_EVENT}' THEN coalesce(e.test_delivery, gen_random_uuid())
            ELSE gen_random_uuid() END,
       w.org_id, w.id, e.id, $3, $3, $3
FROM event e
JOIN webhooks w ON w.org_id = e.org_id AND w.deleted_at IS NULL
WHERE CASE WHEN e.event_type = '{TEST_EVENT}' THEN w.id = e.test_webhook
           ELSE w.active AND e.event_type = ANY (w.events) END
ON CONFLICT DO NOTHING
"""

_CLAIM = """
WITH candidate AS (
    SELECT d.id, w.url, d.next_attempt_at FROM webhook_deliveries d
    JOIN webhooks w ON w.org_id = d.org_id AND w.id = d.webhook_id
    WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND (d.locked_at IS NULL OR d.locked_at <= $2)
      AND NOT w.url = ANY ($5::text[])
    ORDER BY d.next_attempt_at
    LIMIT $3
    FOR UPDATE OF d SKIP LOCKED
), ranked AS (
    SELECT id, url, row_number() OVER (PARTITION BY url ORDER BY next_attempt_at, id) AS n FROM candidate
), busy AS (
    SELECT * FROM unnest($6::text[], $7::integer[]) AS b(url, in_flight)
)
UPDATE webhook_deliveries d SET locked_at = $1, locked_by = $4
FROM ranked r
LEFT JOIN busy b ON b.url = r.url
JOIN webhook_deliveries src ON src.id = r.id
JOIN webhooks w ON w.org_id = src.org_id AND w.id = src.webhook_id
JOIN outbox_events o ON o.org_id = src.org_id AND o.id = src.event_id
LEFT JOIN org_policies p ON p.org_id = src.org_id
WHERE d.id = r.id AND r.n + coalesce(b.in_flight, 0) <= $8
RETURNING d.id, d.org_id, d.webhook_id, d.event_id, d.attempt_count, o.event_type, o.payload::text AS payload,
          w.url, w.secret, w.previous_secret, w.previous_secret_expires_at, w.active,
          w.deleted_at IS NOT NULL AS deleted,
          coalesce(p.max_webhook_attempts, 10) AS max_attempts
"""

_RECORD = """
UPDATE webhook_deliveries
SET status = $3::webhook_delivery_status, attempt_count = attempt_count + $4,
    last_response_code = coalesce($5, last_response_code),
    last_response_body = CASE WHEN $8 THEN $6 ELSE last_response_body END, last_error = $7,
    next_attempt_at = $9, locked_at = NULL, locked_by = NULL, updated_at = $10
WHERE id = $1 AND locked_by = $2 AND status = 'pending'
RETURNING id
"""

_DEACTIVATE = """
UPDATE webhooks SET active = false, version = version + 1, updated_at = $3
WHERE org_id = $1 AND id = $2 AND active
RETURNING version
"""


class PgDeliveryStore:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def fan_out(self, events: Sequence[tuple[uuid.UUID, uuid.UUID]], now: datetime) -> int:
        if not events:
            return 0
        async with self._pool.acquire() as conn:
            status = await conn.execute(_FAN_OUT, [org for org, _ in events], [event for _, event in events], now)
        return int(status.split()[-1])

    async def claim_due(
        self, owner: str, now: datetime, lease: timedelta, limit: int, in_flight: Mapping[str, int], per_url: int
    ) -> list[DueDelivery]:
        saturated = [url for url, count in in_flight.items() if count >= per_url]
        busy = [(url, count) for url, count in in_flight.items() if 0 < count < per_url]
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                _CLAIM,
                now,
                now - lease,
                limit,
                owner,
                saturated,
                [url for url, _ in busy],
                [count for _, count in busy],
                per_url,
            )
        due = []
        for row in rows:
            secrets = [row["secret"]]
            expires = row["previous_secret_expires_at"]
            if row["previous_secret"] is not None and expires is not None and expires > now:
                secrets.append(row["previous_secret"])
            due.append(
                DueDelivery(
                    id=row["id"],
                    org_id=row["org_id"],
                    webhook_id=row["webhook_id"],
                    event_id=row["event_id"],
                    event_type=row["event_type"],
                    payload=row["payload"].encode(),
                    url=row["url"],
                    secrets=tuple(secrets),
                    active=row["active"],
                    deleted=row["deleted"],
                    attempt_count=row["attempt_count"],
                    max_attempts=row["max_attempts"],
                )
            )
        return due

    async def record(
        self, delivery: DueDelivery, owner: str, decision: Decision, sent: Sent | None, now: datetime
    ) -> bool:
        code = sent.answer.status if sent is not None else None
        body = _text(sent.body) if sent is not None and sent.answer.status is not None else None
        args = (
            delivery.id,
            owner,
            decision.status.value,
            1 if sent is not None else 0,
            code,
            body,
            None if decision.error is None else _text(decision.error),
            body is not None,
            decision.next_attempt_at,
            now,
        )
        async with self._pool.acquire() as conn:
            if not decision.deactivate:
                # the common case: one statement, committed on its own
                return await conn.fetchval(_RECORD, *args) is not None
            async with conn.transaction():
                if await conn.fetchval(_RECORD, *args) is None:
                    return False
                version = await conn.fetchval(_DEACTIVATE, delivery.org_id, delivery.webhook_id, now)
                if version is not None:
                    await insert_audit_entry(
                        conn,
                        audit_entry(
                            Actor(),
                            delivery.org_id,
                            "webhook",
                            delivery.webhook_id,
                            AuditAction.UPDATE,
                            version,
                            {"deactivated": "410 Gone", "delivery_id": str(delivery.id)},
                        ),
                    )
        return True


def _text(value: str) -> str:
    return value.replace("\x00", "\ufffd")[:2000]
