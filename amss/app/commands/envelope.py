"""A command as it travels: what the API records and the stream carries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from amss.domain.enums import Role
from amss.domain.principal import Actor, ImportOrigin, Principal


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
        return recorded_actor(self.org_id, self.principal, self.request_id)


def recorded_actor(org_id: uuid.UUID, recorded: dict[str, Any], request_id: uuid.UUID | None) -> Actor:
    """An actor back from its recorded form (`record_actor`), acting in `org_id`."""
    principal = None
    if recorded.get("user_id"):
        principal = Principal(
            user_id=uuid.UUID(recorded["user_id"]),
            home_org_id=uuid.UUID(recorded["home_org_id"]),
            role=Role(recorded["role"]),
            org_id=org_id,
        )
    origin = recorded.get("import")
    return Actor(
        principal=principal,
        job=recorded.get("job"),
        request_id=request_id,
        ip_address=recorded.get("ip_address"),
        user_agent=recorded.get("user_agent"),
        origin=ImportOrigin(uuid.UUID(origin["import_id"]), int(origin["row_number"])) if origin else None,
    )


def record_actor(actor: Actor) -> dict[str, Any]:
    """The JSON form of an actor, for the command row's `principal` (and an import's)."""
    origin = actor.origin.details() if actor.origin is not None else {}
    if actor.principal is None:
        return {"job": actor.job or "system", **origin}
    return {
        "user_id": str(actor.principal.user_id),
        "home_org_id": str(actor.principal.home_org_id),
        "role": actor.principal.role.value,
        "ip_address": actor.ip_address,
        "user_agent": actor.user_agent,
        **origin,
    }
