"""Idempotency-Key: a repeat of an idempotent request gets the first one's response, byte for byte.

Only routes whose `RouteSpec` is idempotent take part, and only when the header is sent. The
key is scoped to the acting organization and the endpoint (method + route template); the
request hash covers the method, the path with its query string and the whole body (canonical
JSON when it parses, else the raw bytes). The flow:

- claim the key atomically (a placeholder row); if another request holds it, answer from it:
  a different hash is 409 IDEMPOTENCY_KEY_REUSED, a finished one is replayed before any
  handler runs, a running one is 409 IDEMPOTENCY_IN_PROGRESS (202 on asynchronous routes);
- run the handler; store its response unless it is 5xx or 429. Domain errors (4xx) are
  rendered here and stored, so a retried rejected request gets the same answer;
- on 5xx, 429, an unexpected exception or cancellation, release the placeholder so a retry
  runs afresh. A placeholder whose process died is taken over once its lease has passed.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

import asyncpg
import orjson
from aiohttp import web

from amss.api.rest.context import PRINCIPAL
from amss.api.rest.encodings import read_body
from amss.api.rest.errors import ApiError, respond_to
from amss.api.rest.header_text import is_visible_ascii
from amss.api.rest.routing import Handler, RouteSpec, spec_of
from amss.domain.errors import DomainError, ValidationFailed
from amss.infra.postgres.idempotency_repo import (
    Claimed,
    Existing,
    KeyScope,
    PgIdempotencyRepository,
    StoredResponse,
)
from amss.runtime import PG_POOL

log = logging.getLogger(__name__)

HEADER: Final = "Idempotency-Key"
REPLAYED_HEADER: Final = "Idempotent-Replayed"
# the response headers a replay repeats; the rest (request id, rate-limit state) belong to each request
STORED_HEADERS: Final = ("Content-Type", "Location", "ETag")
MAX_KEY_LENGTH: Final = 255


@dataclass(frozen=True)
class IdempotencyPolicy:
    # longer than any handler may take (the longest command wait is 30 s) plus a margin
    lease: timedelta = timedelta(seconds=45)
    ttl: timedelta = timedelta(hours=24)


IDEMPOTENCY_POLICY = web.AppKey("idempotency_policy", IdempotencyPolicy)
_DEFAULT_POLICY: Final = IdempotencyPolicy()


def valid_key(value: str) -> bool:
    return len(value) <= MAX_KEY_LENGTH and is_visible_ascii(value)


def request_hash(method: str, path_qs: str, body: bytes) -> str:
    """sha256 hex of method, path with query and body; a JSON body counts by its canonical form."""
    try:
        canonical = b"json:" + orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:  # not JSON (or empty): the raw bytes count
        canonical = b"raw:" + body
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path_qs.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def is_storable(status: int) -> bool:
    """5xx and 429 are transient: a retry must run the request again, not replay the failure."""
    return status < 500 and status != 429


def stored_form(response: web.StreamResponse) -> StoredResponse | None:
    """The response as it can be stored and replayed, or None (streamed, or a transient status)."""
    if not isinstance(response, web.Response) or not is_storable(response.status):
        return None
    body = response.body
    if body is not None and not isinstance(body, bytes):
        return None  # a payload (file, stream) cannot be repeated byte for byte
    headers = {name: response.headers[name] for name in STORED_HEADERS if name in response.headers}
    return StoredResponse(response.status, body or b"", headers)


def replay(stored: StoredResponse) -> web.Response:
    response = web.Response(status=stored.status_code, body=stored.body or None, headers=stored.headers)
    response.headers[REPLAYED_HEADER] = "true"
    return response


def answer_existing(existing: Existing, this_hash: str, spec: RouteSpec) -> web.Response:
    """The answer when another request holds the key: replay, or say why not."""
    if existing.request_hash != this_hash:
        raise ApiError(
            "IDEMPOTENCY_KEY_REUSED",
            f"this {HEADER} was used for a different request (method, path or body)",
        )
    if existing.response is not None:
        return replay(existing.response)
    seconds = existing.retry_after_seconds
    headers = {"Retry-After": str(seconds)}
    if spec.asynchronous:
        body = orjson.dumps({"status": "in_progress", "retry_after_seconds": seconds})
        return web.Response(status=202, body=body, content_type="application/json", headers=headers)
    raise ApiError(
        "IDEMPOTENCY_IN_PROGRESS",
        f"a request with this {HEADER} is still running; retry after {seconds} s",
        {"retry_after_seconds": seconds},
        headers,
    )


def json_body(stored: StoredResponse) -> Any | None:
    """The body for the jsonb column (for inspection), when it is JSON that jsonb can hold."""
    content_type = stored.headers.get("Content-Type", "")
    if "json" not in content_type or b"\\u0000" in stored.body:
        return None
    try:
        return orjson.loads(stored.body)
    except orjson.JSONDecodeError:
        return None


@web.middleware
async def idempotency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    spec = spec_of(request)
    key = request.headers.get(HEADER)
    if spec is None or not spec.idempotent or key is None or PRINCIPAL not in request:
        return await handler(request)
    if not valid_key(key):
        raise ValidationFailed.on_field(HEADER, f"must be 1 to {MAX_KEY_LENGTH} visible ASCII characters")
    policy = request.app[IDEMPOTENCY_POLICY] if IDEMPOTENCY_POLICY in request.app else _DEFAULT_POLICY
    body = await spec.body_digest(request) if spec.body_digest is not None else await read_body(request)
    this_hash = request_hash(request.method, request.path_qs, body)
    scope = KeyScope(request[PRINCIPAL].org_id, key, f"{spec.method} {spec.path}")
    pool = request.app[PG_POOL]
    async with pool.acquire() as conn:
        claim = await PgIdempotencyRepository(conn).claim(scope, this_hash, policy.lease, policy.ttl)
    if isinstance(claim, Existing):
        return answer_existing(claim, this_hash, spec)
    return await _run_and_store(request, handler, pool, claim)


async def _run_and_store(
    request: web.Request, handler: Handler, pool: asyncpg.Pool, claim: Claimed
) -> web.StreamResponse:
    try:
        try:
            response = await handler(request)
        except (DomainError, ApiError, web.HTTPClientError) as exc:
            rendered = respond_to(request, exc)
            if not is_storable(rendered.status):
                raise
            response = rendered
        stored = stored_form(response)
    except BaseException:  # 5xx, an unexpected error or cancellation: a retry must run afresh
        await _release(pool, claim)
        raise
    if stored is None:
        await _release(pool, claim)
        return response
    await _shielded(_store(pool, claim, stored), "could not store an idempotent response")
    return response


async def _store(pool: asyncpg.Pool, claim: Claimed, stored: StoredResponse) -> None:
    async with pool.acquire() as conn:
        kept = await PgIdempotencyRepository(conn).complete(claim.key_id, stored, json_body(stored))
    if not kept:
        log.warning("idempotency placeholder was taken over before its response was stored")


async def _release(pool: asyncpg.Pool, claim: Claimed) -> None:
    async def release() -> None:
        async with pool.acquire() as conn:
            await PgIdempotencyRepository(conn).release(claim.key_id)

    await _shielded(release(), "could not release an idempotency placeholder")


async def _shielded(work: Coroutine[Any, Any, None], failure: str) -> None:
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
