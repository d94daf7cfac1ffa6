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

from typing import Any, Final

import orjson
from aiohttp import web

from amss.api.rest.context import PRINCIPAL
from amss.api.rest.encodings import read_body
from amss.api.rest.errors import ApiError, respond_to
from amss.api.rest.routing import Handler, RouteSpec, spec_of
from amss.app.idempotency import (
    MAX_KEY_LENGTH,
    Claimed,
    Existing,
    Idempotency,
    IdempotencyPolicy,
    KeyScope,
    StoredResponse,
    hash_parts,
    is_storable,
    valid_key_text,
)
from amss.domain.errors import DomainError, ValidationFailed

__all__ = ["IDEMPOTENCY", "IDEMPOTENCY_POLICY", "IdempotencyPolicy", "is_storable", "request_hash"]

HEADER: Final = "Idempotency-Key"
REPLAYED_HEADER: Final = "Idempotent-Replayed"
# the response headers a replay repeats; the rest (request id, rate-limit state) belong to each request
STORED_HEADERS: Final = ("Content-Type", "Location", "ETag")

# the store and policy REST shares with gRPC (amss.app.idempotency), set by the composition root
IDEMPOTENCY = web.AppKey("idempotency", Idempotency)
# a test's shorter lease overrides the shared policy for this application only
IDEMPOTENCY_POLICY = web.AppKey("idempotency_policy", IdempotencyPolicy)


def valid_key(value: str) -> bool:
    return valid_key_text(value)


def request_hash(method: str, path_qs: str, body: bytes) -> str:
    """sha256 hex of method, path with query and body; a JSON body counts by its canonical form."""
    try:
        canonical = b"json:" + orjson.dumps(orjson.loads(body), option=orjson.OPT_SORT_KEYS)
    except orjson.JSONDecodeError:  # not JSON (or empty): the raw bytes count
        canonical = b"raw:" + body
    return hash_parts(method.upper().encode(), path_qs.encode(), canonical)


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
    idempotency = request.app[IDEMPOTENCY]
    policy = request.app[IDEMPOTENCY_POLICY] if IDEMPOTENCY_POLICY in request.app else None
    body = await spec.body_digest(request) if spec.body_digest is not None else await read_body(request)
    this_hash = request_hash(request.method, request.path_qs, body)
    scope = KeyScope(request[PRINCIPAL].org_id, key, f"{spec.method} {spec.path}")
    claim = await idempotency.claim(scope, this_hash, policy)
    if isinstance(claim, Existing):
        return answer_existing(claim, this_hash, spec)
    return await _run_and_store(request, handler, idempotency, claim)


async def _run_and_store(
    request: web.Request, handler: Handler, idempotency: Idempotency, claim: Claimed
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
        await idempotency.release(claim)
        raise
    if stored is None:
        await idempotency.release(claim)
        return response
    await idempotency.complete(claim, stored, json_body(stored))
    return response
