"""Outbox writes: the payload shape of docs/architecture.md, the dedupe key that refuses announcing one effect twice,
and the journal that writes a unit of work's audit rows and events in one statement."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from amss.domain.audit import AuditEntry
from amss.domain.enums import AuditAction
from amss.domain.events import DomainEvent, dedupe_key
from amss.infra.postgres.journal import Journal
from amss.infra.postgres.outbox_repo import PgOutboxRepository
from amss.infra.postgres.sql import fetch_one
from tests.integration.factories import make_org


def _event(org_id: uuid.UUID, task_id: uuid.UUID) -> DomainEvent:
    return DomainEvent(
        "task_state_changed",
        org_id,
        "task",
        task_id,
        datetime(2026, 5, 1, 8, 0, tzinfo=UTC),
        dedupe_key("task_state_changed", org_id, task_id, "in_progress", 2),
        {"from": "scheduled", "to": "in_progress"},
    )


async def test_an_event_is_stored_with_the_versioned_payload(conn: asyncpg.Connection) -> None:
    org_id, task_id = await make_org(conn), uuid.uuid4()
    journal = Journal()
    event_id = await PgOutboxRepository(journal).add(_event(org_id, task_id))
    assert await conn.fetchval("SELECT count(*) FROM outbox_events WHERE id = $1", event_id) == 0, "not before commit"
    await journal.flush(conn)
    row = await fetch_one(conn, "SELECT * FROM outbox_events WHERE id = $1", event_id)
    assert row["dedupe_key"] == f"task_state_changed:{org_id}:{task_id}:in_progress:2"
    assert row["payload"] == {
        "version": 1,
        "event_id": str(event_id),
        "event_type": "task_state_changed",
        "org_id": str(org_id),
        "occurred_at": "2026-05-01T08:00:00Z",
        "task_id": str(task_id),
        "data": {"from": "scheduled", "to": "in_progress"},
    }
    assert row["processed_at"] is None and row["attempt_count"] == 0


async def test_the_same_effect_cannot_be_recorded_twice(conn: asyncpg.Connection) -> None:
    org_id, task_id = await make_org(conn), uuid.uuid4()
    journal = Journal()
    outbox = PgOutboxRepository(journal)
    await outbox.add(_event(org_id, task_id))
    await journal.flush(conn)
    await outbox.add(_event(org_id, task_id))
    with pytest.raises(asyncpg.UniqueViolationError):
        await journal.flush(conn)
    # twice in one unit of work is refused just the same, and nothing of that write stays
    await outbox.add(_event(org_id, other := uuid.uuid4()))
    await outbox.add(_event(org_id, other))
    with pytest.raises(asyncpg.UniqueViolationError):
        await journal.flush(conn)
    assert await conn.fetchval("SELECT count(*) FROM outbox_events WHERE aggregate_id = $1", other) == 0


async def test_the_journal_writes_every_audit_row_and_event_it_collected(
    conn: asyncpg.Connection,
) -> None:
    org_id = await make_org(conn)
    journal = Journal()
    await journal.flush(conn)  # nothing collected: nothing written, no error
    tasks = [uuid.uuid4() for _ in range(3)]
    for version, task_id in enumerate(tasks, start=1):
        journal.audit(
            AuditEntry(
                org_id,
                "maintenance_task",
                task_id,
                AuditAction.STATE_CHANGE,
                version,
                request_id=uuid.uuid4(),
                ip_address="203.0.113.9",
                user_agent="tests",
                details={"state": {"from": "scheduled", "to": "in_progress"}},
            )
        )
    events = [journal.event(_event(org_id, task_id)) for task_id in tasks[:2]]
    await journal.flush(conn)
    assert (journal.entries, journal.events) == ([], [])
    audit = await conn.fetch(
        "SELECT entity_id, entity_version, ip_address, user_agent, details FROM audit_logs WHERE org_id = $1"
        " ORDER BY entity_version",
        org_id,
    )
    assert [(row["entity_id"], row["entity_version"]) for row in audit] == [(t, v) for v, t in enumerate(tasks, 1)]
    assert {(row["ip_address"], row["user_agent"]) for row in audit} == {("203.0.113.9", "tests")}
    assert audit[0]["details"] == {"state": {"from": "scheduled", "to": "in_progress"}}
    stored = await conn.fetch("SELECT id, aggregate_id FROM outbox_events WHERE org_id = $1", org_id)
    assert {(row["id"], row["aggregate_id"]) for row in stored} == set(zip(events, tasks[:2], strict=True))


def test_unknown_event_types_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        DomainEvent("task_exploded", uuid.uuid4(), "task", uuid.uuid4(), datetime.now(UTC), "k")
