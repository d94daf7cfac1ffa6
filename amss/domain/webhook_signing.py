"""Webhook signatures: how AMSS signs a delivery and how a receiver verifies one (stdlib only).

A delivery carries `X-Webhook-Timestamp` (unix milliseconds) and `X-Webhook-Signature`:
`v1=<hex(hmac_sha256(secret, timestamp + "." + raw_body))>`, one value per live secret (during a
rotation `v1=<new> v1=<old>`, space-separated). The HMAC key is the secret string as returned by
the API (its 64 ASCII characters), not its hex-decoded bytes. A receiver accepts a delivery when any
`v1=` value matches (constant-time compare) and the timestamp is within its replay window of its own
clock, either way. `verify` never raises on malformed input: it answers False.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Final

SCHEME: Final = "v1"
# a header longer than this is not a signature header we wrote (two 64-hex values and their prefixes)
_MAX_SIGNATURE_HEADER: Final = 1024
_MAX_TIMESTAMP_DIGITS: Final = 16


def signature(secret: str, timestamp_ms: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `timestamp.body` under `secret`."""
    message = str(timestamp_ms).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secrets: Sequence[str], timestamp_ms: int, body: bytes) -> str:
    """The `X-Webhook-Signature` value: one `v1=` per secret, in the order given (the newest first)."""
    if not secrets:
        raise ValueError("a delivery is signed with at least one secret")
    return " ".join(f"{SCHEME}={signature(secret, timestamp_ms, body)}" for secret in secrets)


def verify(
    secret: str,
    signature_header_value: str | None,
    timestamp_header_value: str | None,
    body: bytes,
    *,
    now_ms: int,
    window_seconds: int = 300,
) -> bool:
    """True when the headers are well formed, the timestamp is within `window_seconds` of `now_ms`
    (before or after) and one of the `v1=` signatures is the signature of `body` under `secret`."""
    timestamp_ms = _timestamp(timestamp_header_value)
    if timestamp_ms is None or abs(now_ms - timestamp_ms) > window_seconds * 1000:
        return False
    candidates = _signatures(signature_header_value)
    if not candidates:
        return False
    expected = signature(secret, timestamp_ms, body).encode("ascii")
    # compare against every candidate, so the time taken does not tell which one matched
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate)
    return matched


def _timestamp(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip()
    if not text or len(text) > _MAX_TIMESTAMP_DIGITS or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def _signatures(value: str | None) -> list[bytes]:
    if value is None or len(value) > _MAX_SIGNATURE_HEADER or not value.isascii():
        return []
    found: list[bytes] = []
    for part in value.split():
        scheme, sep, digest = part.partition("=")
        if sep and scheme == SCHEME and len(digest) == 64 and all(c in "0123456789abcdef" for c in digest):
            found.append(digest.encode("ascii"))
    return found
