"""Outbox writes: the payload shape of API.md and the dedupe key that refuses announcing one effect twice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from amss.domain.events import DomainEvent, dedupe_key
from amss.infra.postgres.outbox_repo import PgOutboxRepository
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
    event_id = await PgOutboxRepository(conn).add(_event(org_id, task_id))
    row = await conn.fetchrow("SELECT * FROM outbox_events WHERE id = $1", event_id)
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
    outbox = PgOutboxRepository(conn)
    await outbox.add(_event(org_id, task_id))
    with pytest.raises(asyncpg.UniqueViolationError):
        await outbox.add(_event(org_id, task_id))


def test_unknown_event_types_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown event type"):
        DomainEvent("task_exploded", uuid.uuid4(), "task", uuid.uuid4(), datetime.now(UTC), "k")
