"""Records domain events in the transactional outbox (published after commit by the outbox poller).

Events are collected in the unit of work's journal and written, with its audit rows, as it commits.
"""

from __future__ import annotations

import uuid

from amss.domain.events import DomainEvent
from amss.infra.postgres.journal import Journal


class PgOutboxRepository:
    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    async def add(self, event: DomainEvent) -> uuid.UUID:
        """Collect the event; a second event with the same dedupe key is refused (unique violation) on commit."""
        return self._journal.event(event)
