"""Idempotency keys, whatever the front: the store port, the policy and the replay rules REST and gRPC share.

A front claims `(org, key, endpoint)` with the hash of its request; another request holding the key
answers from it (a different hash: IDEMPOTENCY_KEY_REUSED; a finished one: its stored response; a
running one: IDEMPOTENCY_IN_PROGRESS with the seconds left on its lease). The claimant runs the
request and stores the response unless it is transient (5xx, 429), or releases the placeholder so
a retry runs afresh. The store (Postgres, amss/infra/postgres/idempotency_repo.py) is passed in by
the composition root; this module holds no I/O of its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, Protocol

log = logging.getLogger(__name__)

MAX_KEY_LENGTH: Final = 255


@dataclass(frozen=True)
class KeyScope:
    """What a key is unique within: the organization and the endpoint (REST: method + route template;
    gRPC: `grpc /amss.v1.TaskService/CreateTask`)."""

    org_id: uuid.UUID
    key: str
    endpoint: str


@dataclass(frozen=True)
class StoredResponse:
    """What a repeat is answered with: a status (HTTP's numbering; a gRPC answer stores the code's HTTP
    status from the error table), the body bytes and the headers a replay repeats."""

    status_code: int
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Claimed:
    """This request owns the placeholder; `key_id` is its token for `complete` or `release`."""

    key_id: uuid.UUID


@dataclass(frozen=True)
class Existing:
    """Another request holds the key: its hash, and its response or (still running) None."""

    request_hash: str
    response: StoredResponse | None
    lease_seconds_left: float

    @property
    def retry_after_seconds(self) -> int:
        """Whole seconds until the placeholder's lease passes, at least 1."""
        return max(1, math.ceil(self.lease_seconds_left))


@dataclass(frozen=True)
class IdempotencyPolicy:
    # longer than any handler may take (the longest command wait is 30 s) plus a margin
    lease: timedelta = timedelta(seconds=45)
    ttl: timedelta = timedelta(hours=24)


DEFAULT_POLICY: Final = IdempotencyPolicy()


class IdempotencyStore(Protocol):
    """The key store: an atomic claim, then the stored response or a release (each call its own statement)."""

    async def claim(
        self, scope: KeyScope, request_hash: str, lease: timedelta, ttl: timedelta
    ) -> Claimed | Existing: ...

    async def complete(self, key_id: uuid.UUID, response: StoredResponse, body_json: Any | None) -> bool:
        """Store the response; False when the placeholder is no longer ours (its lease was taken over)."""
        ...

    async def release(self, key_id: uuid.UUID) -> None: ...


def valid_key_text(value: str) -> bool:
    """1 to 255 visible ASCII characters (a header or metadata value a log can show as it is)."""
    return 0 < len(value) <= MAX_KEY_LENGTH and all(0x21 <= ord(char) <= 0x7E for char in value)


def is_storable(status: int) -> bool:
    """5xx and 429 are transient: a retry must run the request again, not replay the failure."""
    return status < 500 and status != 429


def hash_parts(*parts: bytes) -> str:
    """sha256 hex over length-prefixed parts (no two different part lists hash alike)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class Idempotency:
    """The shared flow over one store and one policy: claim, then store or release (both finished even if the
    request is cancelled meanwhile)."""

    def __init__(self, store: IdempotencyStore, policy: IdempotencyPolicy = DEFAULT_POLICY) -> None:
        self.store = store
        self.policy = policy

    async def claim(
        self, scope: KeyScope, request_hash: str, policy: IdempotencyPolicy | None = None
    ) -> Claimed | Existing:
        chosen = policy or self.policy
        return await self.store.claim(scope, request_hash, chosen.lease, chosen.ttl)

    async def complete(self, claim: Claimed, stored: StoredResponse, body_json: Any | None) -> None:
        async def complete() -> None:
            if not await self.store.complete(claim.key_id, stored, body_json):
                log.warning("idempotency placeholder was taken over before its response was stored")

        await shielded(complete(), "could not store an idempotent response")

    async def release(self, claim: Claimed) -> None:
        await shielded(self.store.release(claim.key_id), "could not release an idempotency placeholder")


async def shielded(work: Coroutine[Any, Any, None], failure: str) -> None:
    """Finish `work` even if this request is cancelled meanwhile: a response is stored, a key freed.

    A failure is logged, not raised: the response is answered regardless, and a placeholder
    left behind is taken over once its lease passes.
    """

    async def logged() -> None:
        try:
            await work
        except Exception:
            log.exception(failure)

    task = asyncio.ensure_future(logged())
    _FINISHING.add(task)
    task.add_done_callback(_FINISHING.discard)
    await asyncio.shield(task)


# strong references to shielded tasks, so one is not collected while it runs after a cancellation
_FINISHING: set[asyncio.Future[None]] = set()
