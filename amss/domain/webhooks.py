"""Webhook subscriptions and their deliveries: the entities, and which URLs and event lists are acceptable.

A URL is refused (a field problem, so 400 naming `url`) when it is longer than MAX_URL_LENGTH, holds a
character outside printable ASCII (hosts in their punycode form, paths percent-encoded), a scheme other
than https (or http where allowed), credentials (`user:pass@`), a fragment, an empty or malformed
host, or a port outside 1..65535. Whether the host is a public address is not a rule of the URL's text:
the service asks a destination check (production only) for that.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from urllib.parse import urlsplit

from amss.domain.addresses import parse_address
from amss.domain.enums import WebhookDeliveryStatus
from amss.domain.events import EVENT_TYPES

MAX_URL_LENGTH: Final = 2048
# a subscription names each type at most once: more entries than types is a mistake
MAX_EVENTS: Final = len(EVENT_TYPES)
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_NUMERIC_LABEL = re.compile(r"^([0-9]+|0x[0-9a-f]*)$")
_PRINTABLE_ASCII = re.compile(r"^[!-~]+$")
DEFAULT_PORTS: Final = {"https": 443, "http": 80}


@dataclass(frozen=True)
class Webhook:
    """A subscription as readers see it: the secrets never leave the repository except at creation and rotation."""

    id: uuid.UUID
    org_id: uuid.UUID
    url: str
    events: tuple[str, ...]
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    # set while a rotated-out secret still signs beside the new one
    previous_secret_expires_at: datetime | None = None


@dataclass(frozen=True)
class WebhookDelivery:
    id: uuid.UUID
    org_id: uuid.UUID
    webhook_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: WebhookDeliveryStatus
    attempt_count: int
    next_attempt_at: datetime
    last_response_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Destination:
    """Where a URL points: the host (brackets removed, lower case) and the port (the scheme's default if none)."""

    scheme: str
    host: str
    port: int


def url_problem(url: str, *, allow_http: bool) -> str | None:
    """Why `url` cannot be a webhook URL, or None when it can."""
    if len(url) > MAX_URL_LENGTH:
        return f"must be at most {MAX_URL_LENGTH} characters"
    if not _PRINTABLE_ASCII.match(url):
        return "must be printable ASCII without spaces (punycode hosts, percent-encoded paths)"
    scheme, sep, _ = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in DEFAULT_PORTS:
        return "must be an https:// URL" if not allow_http else "must be an http:// or https:// URL"
    if scheme == "http" and not allow_http:
        return "must be https:// (http:// webhooks are not allowed here)"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"is not a valid URL ({exc})"
    if "#" in url:
        return "must not have a fragment (#...)"
    if "@" in parts.netloc:
        return "must not carry credentials (user:password@); authenticate deliveries with the signature"
    host = parts.hostname or ""
    if not host:
        return "must name a host"
    if port is not None and not 1 <= port <= 65535:
        return "port must be from 1 to 65535"
    if parts.netloc.endswith(":"):
        return "port must be from 1 to 65535"
    return _host_problem(host, bracketed=parts.netloc.startswith("["))


def _host_problem(host: str, *, bracketed: bool) -> str | None:
    if bracketed:
        # an IPv6 literal; a zone id (fe80::1%eth0) names an interface of this machine, never a receiver
        if "%" in host or parse_address(host) is None:
            return "host is not a valid IPv6 address"
        return None
    if parse_address(host) is not None:
        return None
    name = host[:-1] if host.endswith(".") else host
    if len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        return "host is not a valid DNS name or IP address"
    # a last label of digits (or 0x...) makes the resolver read the whole name as an IPv4 number
    # (2130706433, 0x7f.1, 127.1 are all 127.0.0.1): no top-level domain looks like that
    if _NUMERIC_LABEL.match(name.rsplit(".", 1)[-1]):
        return "host is not a valid DNS name or IP address"
    return None


def destination(url: str) -> Destination:
    """The scheme, host and port of an acceptable URL (one `url_problem` passed)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return Destination(scheme, (parts.hostname or "").rstrip("."), parts.port or DEFAULT_PORTS[scheme])


def subscribed_events(events: Sequence[str]) -> tuple[str, ...]:
    """The event types in the order given, each once; the caller has checked each is one of EVENT_TYPES."""
    return tuple(dict.fromkeys(events))
