"""The audit entry every mutation writes, and who is recorded as having acted."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from amss.domain.enums import AuditAction


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
