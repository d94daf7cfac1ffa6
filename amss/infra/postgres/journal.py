"""A unit of work's journal: its audit rows and outbox events, written together in one statement.

The audit and outbox repositories of a unit of work only collect what they are given; the unit
of work writes it all just before it commits, in one round trip: a data-modifying CTE that
inserts the audit rows and the outbox events from arrays. Inside a command, the executor writes
the journal together with the command's result (`write_with`): the same round trip.
Constraint violations (a repeated dedupe key, a details document that is not an object)
surface there and are translated like any other.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from amss.domain.audit import AuditEntry
from amss.domain.events import DomainEvent
from amss.infra.postgres.sql import Connection, Statement

_WRITE = """
WITH audit AS (
    INSERT INTO audit_logs (org_id, entity_type, entity_id, action, user_id, request_id,
                            ip_address, user_agent, entity_version, details)
    SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::audit_action[], $5::uuid[], $6::uuid[],
                         $7::text[], $8::text[], $9::integer[], $10::jsonb[])
), outbox AS (
    INSERT INTO outbox_events (id, org_id, aggregate_type, aggregate_id, event_type, payload, dedupe_key, created_at)
    SELECT * FROM unnest($11::uuid[], $12::uuid[], $13::text[], $14::uuid[], $15::text[], $16::jsonb[],
                         $17::text[], $18::timestamptz[])
)
"""
_JOURNAL_PARAMETERS = 18
_NOTHING_MORE = Statement("SELECT true", ())


@dataclass
class Journal:
    entries: list[AuditEntry] = field(default_factory=list)
    events: list[tuple[uuid.UUID, DomainEvent]] = field(default_factory=list)

    def audit(self, entry: AuditEntry) -> None:
        self.entries.append(entry)

    def event(self, event: DomainEvent) -> uuid.UUID:
        event_id = uuid.uuid4()
        self.events.append((event_id, event))
        return event_id

    @property
    def empty(self) -> bool:
        return not self.entries and not self.events

    async def flush(self, conn: Connection) -> None:
        """Write what was collected (nothing, if nothing was) and start empty again."""
        if not self.empty:
            await self.write_with(conn, _NOTHING_MORE)

    async def write_with(self, conn: Connection, final: Statement) -> Any:
        """Write what was collected and run `final` in the same statement; `final`'s first value.

        The journal's inserts and `final` see one snapshot and commit or roll back together."""
        if self.empty:
            return await conn.fetchval(final.sql, *final.args)
        entries, events = self.entries, self.events
        self.entries, self.events = [], []
        return await conn.fetchval(
            _WRITE + final.numbered_after(_JOURNAL_PARAMETERS),
            [e.org_id for e in entries],
            [e.entity_type for e in entries],
            [e.entity_id for e in entries],
            [e.action.value for e in entries],
            [e.user_id for e in entries],
            [e.request_id for e in entries],
            [e.ip_address for e in entries],
            [e.user_agent for e in entries],
            [e.entity_version for e in entries],
            [e.details for e in entries],
            [event_id for event_id, _ in events],
            [e.org_id for _, e in events],
            [e.aggregate_type for _, e in events],
            [e.aggregate_id for _, e in events],
            [e.event_type for _, e in events],
            [e.payload(event_id) for event_id, e in events],
            [e.dedupe_key for _, e in events],
            [e.occurred_at for _, e in events],
            *final.args,
        )
