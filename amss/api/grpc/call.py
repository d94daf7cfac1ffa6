"""What one gRPC call carries between the interceptor and the servicers: request id, principal, peer, metadata."""

from __future__ import annotations

import contextvars
import ipaddress
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from amss.api.rest.header_text import MAX_USER_AGENT, recorded_text
from amss.domain.errors import DomainError, Unauthorized
from amss.domain.principal import Actor, Principal

# a job's service credential names its job in a scope: `job:program-generator`
JOB_SCOPE_PREFIX = "job:"


class CallError(Exception):
    """An error the gRPC layer itself decides (idempotency, rate limits, a pending command), by error code."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


@dataclass
class CallState:
    method: str
    request_id: str
    peer_ip: str | None
    user_agent: str | None
    metadata: dict[str, str]
    principal: Principal | None = None
    # counts one call of a category against the caller's organization (the interceptor sets it)
    spend: Callable[[str], Awaitable[None]] | None = None

    @property
    def job(self) -> str | None:
        """The job a service credential acts for, or None for a user's token."""
        if self.principal is None:
            return None
        for scope in self.principal.scopes:
            if scope.startswith(JOB_SCOPE_PREFIX):
                return scope[len(JOB_SCOPE_PREFIX) :]
        return None

    def actor(self) -> Actor:
        """The audit facts of this call: who (a user, or the job of a service credential), request id, peer,
        user agent — all from the credentials and metadata, never from a message."""
        job = self.job
        return Actor(
            principal=None if job else self.principal,
            job=job,
            request_id=uuid.UUID(self.request_id),
            ip_address=self.peer_ip,
            user_agent=self.user_agent,
        )

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise Unauthorized("authentication required")
        return self.principal


CURRENT_CALL: contextvars.ContextVar[CallState] = contextvars.ContextVar("amss_grpc_call")


def current_call() -> CallState:
    return CURRENT_CALL.get()


def peer_ip(peer: str | None) -> str | None:
    """`ipv4:1.2.3.4:5678` / `ipv6:[::1]:5678` -> the address; anything else (a unix socket) as it is."""
    if not peer:
        return None
    kind, _, rest = peer.partition(":")
    if kind in ("ipv4", "ipv6"):
        host = rest.rsplit(":", 1)[0].strip("[]")
        try:
            return str(ipaddress.ip_address(host))
        except ValueError:
            return host
    return peer[:200]


def metadata_dict(pairs: Sequence[tuple[str, str | bytes]] | None) -> dict[str, str]:
    """Text metadata by lower-case key (the first value of each; binary `-bin` entries are left out)."""
    found: dict[str, str] = {}
    for key, value in pairs or ():
        if key.endswith("-bin") or not isinstance(value, str):
            continue
        found.setdefault(key.lower(), value)
    return found


def user_agent(metadata: dict[str, str]) -> str | None:
    return recorded_text(metadata.get("user-agent"), MAX_USER_AGENT)


def domain_error_of(exc: DomainError) -> CallError:
    return CallError(exc.code, exc.message, exc.details)
