"""Records domain events in the transactional outbox (published after commit by the outbox poller)."""

from __future__ import annotations

import uuid

from amss.domain.events import DomainEvent
from amss.infra.postgres.sql import Connection


class PgOutboxRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, event: DomainEvent) -> uuid.UUID:
        """Insert the event; a second event with the same dedupe key is refused (unique violation)."""
        event_id = uuid.uuid4()
        await self._conn.execute(
            "INSERT INTO outbox_events (id, org_id, aggregate_type, aggregate_id, event_type, payload, dedupe_key,"
            " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            event_id,
            event.org_id,
            event.aggregate_type,
            event.aggregate_id,
            event.event_type,
            event.payload(event_id),
            event.dedupe_key,
            event.occurred_at,
        )
        return event_id
