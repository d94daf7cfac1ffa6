"""Domain events, recorded in the outbox in the same transaction as the change they report.

Every payload carries `version: 1`, the organization, the ids involved and the time; the dedupe
key is stable and unique per effect (`task_created:{org_id}:{task_id}`,
`task_state_changed:{org_id}:{task_id}:{new_state}:{version}`), so recording an effect twice
is refused by the database instead of announced twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final

from amss.domain.timestamps import utc_text

PAYLOAD_VERSION: Final = 1


class EventType(StrEnum):
    TASK_CREATED = "task_created"
    TASK_STATE_CHANGED = "task_state_changed"
    PART_RESERVED = "part_reserved"
    AIRCRAFT_STATUS_UPDATED = "aircraft_status_updated"
    COMPLIANCE_SIGNED = "compliance_signed"
    PROGRAM_TASK_GENERATED = "program_task_generated"
    AUDIT_LOGGED = "audit_logged"
    # only ever to the webhook being tested (POST /webhooks/{id}/test), never fanned out by subscription
    WEBHOOK_TEST = "webhook.test"


EVENT_TYPES: Final = tuple(event_type.value for event_type in EventType)


@dataclass(frozen=True)
class DomainEvent:
    event_type: str
    org_id: uuid.UUID
    aggregate_type: str
    aggregate_id: uuid.UUID
    occurred_at: datetime
    dedupe_key: str
    # ids and facts of the event besides org_id and the aggregate's id
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.event_type not in EVENT_TYPES:
            raise ValueError(f"unknown event type {self.event_type!r}")

    def payload(self, event_id: uuid.UUID) -> dict[str, Any]:
        """The event's JSON body as the outbox stores it (shape in docs/architecture.md, "Units of work")."""
        return {
            "version": PAYLOAD_VERSION,
            "event_id": str(event_id),
            "event_type": self.event_type,
            "org_id": str(self.org_id),
            "occurred_at": utc_text(self.occurred_at),
            f"{self.aggregate_type}_id": str(self.aggregate_id),
            "data": self.data,
        }


def dedupe_key(event_type: str, org_id: uuid.UUID, *parts: object) -> str:
    return ":".join([event_type, str(org_id), *(str(part) for part in parts)])
