"""What a request carries between middlewares and handlers: request id, principal, route, client."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Sequence

from aiohttp import web

from amss.api.rest.header_text import MAX_USER_AGENT, recorded_text
from amss.domain.errors import Unauthorized
from amss.domain.principal import Actor, Principal

REQUEST_ID = web.RequestKey("request_id", str)
PRINCIPAL = web.RequestKey("principal", Principal)
CLIENT_IP = web.RequestKey("client_ip", str)
RATE_LIMIT_HEADERS = web.RequestKey("rate_limit_headers", dict[str, str])


def principal_of(request: web.Request) -> Principal:
    if PRINCIPAL not in request:
        raise Unauthorized("authentication required")
    return request[PRINCIPAL]


def actor_of(request: web.Request) -> Actor:
    """The audit facts of this request: who, request id, client address and user agent."""
    request_id = request.get(REQUEST_ID)
    return Actor(
        principal=request[PRINCIPAL] if PRINCIPAL in request else None,
        request_id=uuid.UUID(request_id) if request_id else None,
        ip_address=request.get(CLIENT_IP),
        user_agent=user_agent_of(request),
    )


def user_agent_of(request: web.Request) -> str | None:
    """The User-Agent as audit, command and refresh-token rows keep it (header_text.recorded_text)."""
    return recorded_text(request.headers.get("User-Agent"), MAX_USER_AGENT)


def client_ip(
    peer: str | None, forwarded_for: str | None, trusted: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> str:
    """The socket peer, or — when the peer is a trusted proxy — the nearest untrusted X-Forwarded-For hop."""
    address = peer or "unknown"
    if not forwarded_for or not _is_trusted(address, trusted):
        return address
    for hop in reversed([part.strip() for part in forwarded_for.split(",") if part.strip()]):
        if not _is_trusted(hop, trusted):
            return hop if _is_ip(hop) else address
    return address


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_trusted(address: str, trusted: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)
