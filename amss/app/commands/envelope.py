"""A command as it travels: what the API records and the stream carries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from amss.domain.enums import Role
from amss.domain.principal import Actor, Principal


@dataclass(frozen=True)
class Command:
    id: uuid.UUID
    org_id: uuid.UUID
    actor: str
    type: str
    payload: dict[str, Any]
    # who asked, as recorded: {"user_id", "home_org_id", "role", "request_id", "ip_address", "user_agent"} or {"job"}
    principal: dict[str, Any]
    request_id: uuid.UUID | None = None
    reply_to: str | None = None
    created_at: datetime | None = None

    def acting(self) -> Actor:
        """The audit actor the handler writes rows for."""
        recorded = self.principal
        principal = None
        if recorded.get("user_id"):
            principal = Principal(
                user_id=uuid.UUID(recorded["user_id"]),
                home_org_id=uuid.UUID(recorded["home_org_id"]),
                role=Role(recorded["role"]),
                org_id=self.org_id,
            )
        return Actor(
            principal=principal,
            job=recorded.get("job"),
            request_id=self.request_id,
            ip_address=recorded.get("ip_address"),
            user_agent=recorded.get("user_agent"),
        )


def record_actor(actor: Actor) -> dict[str, Any]:
    """The JSON form of an actor, for the command row's `principal`."""
    if actor.principal is None:
        return {"job": actor.job or "system"}
    return {
        "user_id": str(actor.principal.user_id),
        "home_org_id": str(actor.principal.home_org_id),
        "role": actor.principal.role.value,
        "ip_address": actor.ip_address,
        "user_agent": actor.user_agent,
    }
