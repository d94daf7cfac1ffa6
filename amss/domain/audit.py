"""The audit entry every mutation writes, and who is recorded as having acted."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from amss.domain.enums import AuditAction
from amss.domain.principal import Actor


@dataclass(frozen=True)
class AuditEntry:
    org_id: uuid.UUID
    entity_type: str
    entity_id: uuid.UUID
    action: AuditAction
    entity_version: int
    # None when the actor is not a user of org_id (an admin acting for it, or a job);
    # details["actor"] then says who acted
    user_id: uuid.UUID | None = None
    request_id: uuid.UUID | None = None
    ip_address: str | None = None
    user_agent: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def job_actor(job: str) -> dict[str, Any]:
    """The `details.actor` of an entry written by a job or command-line tool."""
    return {"actor": {"job": job}}


def audit_entry(
    actor: Actor,
    org_id: uuid.UUID,
    entity_type: str,
    entity_id: uuid.UUID,
    action: AuditAction,
    entity_version: int,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """The audit entry for `actor` changing an entity of `org_id`."""
    return AuditEntry(
        org_id=org_id,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        entity_version=entity_version,
        user_id=actor.audit_user_id(org_id),
        request_id=actor.request_id,
        ip_address=actor.ip_address,
        user_agent=actor.user_agent,
        details={**(details or {}), **actor.audit_details(org_id)},
    )


@dataclass(frozen=True)
class AuditRecord:
    """A stored audit row, as auditors read it."""

    id: uuid.UUID
    org_id: uuid.UUID
    entity_type: str
    entity_id: uuid.UUID
    action: AuditAction
    user_id: uuid.UUID | None
    request_id: uuid.UUID | None
    ip_address: str | None
    user_agent: str | None
    entity_version: int
    timestamp: datetime
    details: dict[str, Any]


@dataclass(frozen=True)
class AuditFilter:
    entity_type: str | None = None
    entity_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    action: AuditAction | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
