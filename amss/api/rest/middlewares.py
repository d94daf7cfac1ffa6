"""The request pipeline, outermost first: request id -> access log -> errors -> authentication
-> tenancy -> authorisation -> text input (then rate limit and idempotency, in their own modules)
-> handler.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

from aiohttp import web

from amss.api.rest.bodies import refuse_nul_in_query
from amss.api.rest.context import CLIENT_IP, PRINCIPAL, RATE_LIMIT_HEADERS, REQUEST_ID, client_ip
from amss.api.rest.errors import CLIENT_CLOSED_STATUS, client_gone, respond_to
from amss.api.rest.metrics import HTTP_METRICS
from amss.api.rest.routing import Handler, spec_of
from amss.auth.rbac import is_allowed
from amss.auth.tokens import TokenService
from amss.domain.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from amss.domain.principal import Principal
from amss.runtime import PG_POOL, SETTINGS

log = logging.getLogger("amss.access")
TOKEN_SERVICE = web.AppKey("token_service", TokenService)


def _valid_uuid(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request[REQUEST_ID] = _valid_uuid(request.headers.get("X-Request-ID")) or str(uuid.uuid4())
    settings = request.app[SETTINGS]
    request[CLIENT_IP] = client_ip(request.remote, request.headers.get("X-Forwarded-For"), settings.trusted_proxies)
    return await handler(request)


async def add_response_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response, errors included, carries its request id and rate-limit state."""
    if REQUEST_ID in request:
        response.headers["X-Request-ID"] = request[REQUEST_ID]
    if RATE_LIMIT_HEADERS in request:
        for name, value in request[RATE_LIMIT_HEADERS].items():
            response.headers.setdefault(name, value)


@web.middleware
async def access_log_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except asyncio.CancelledError:  # a server run with handler_cancellation cancels when the client leaves
        if client_gone(request):
            status = CLIENT_CLOSED_STATUS
        raise
    finally:
        duration = time.perf_counter() - started
        route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
        if request.match_info.http_exception is not None:
            route = "unmatched"
        metrics = request.app[HTTP_METRICS]
        metrics.requests_total.labels(route, request.method, str(status)).inc()
        metrics.request_duration_seconds.labels(route).observe(duration)
        principal = request[PRINCIPAL] if PRINCIPAL in request else None
        log.info(
            "request",
            extra={
                "request_id": request.get(REQUEST_ID),
                "org_id": str(principal.org_id) if principal else None,
                "user_id": str(principal.user_id) if principal else None,
                "route": route,
                "method": request.method,
                "status": status,
                "duration_ms": round(duration * 1000, 3),
            },
        )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return respond_to(request, exc)
    except Exception as exc:  # every failure leaves as the documented error shape
        return respond_to(request, exc)
    return response


def _bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing or malformed Authorization header; expected 'Bearer <access token>'")
    return token.strip()


@web.middleware
async def authentication_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    spec = spec_of(request)
    if spec is None or spec.permission is None:
        return await handler(request)
    claims = request.app[TOKEN_SERVICE].verify_access(_bearer_token(request))
    request[PRINCIPAL] = Principal(
        user_id=claims.user_id, home_org_id=claims.org_id, role=claims.role, scopes=claims.scopes
    )
    return await handler(request)


@web.middleware
async def tenancy_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """`X-Org-ID`: an admin may act for an existing organization; anyone else only for their own."""
    header = request.headers.get("X-Org-ID")
    if header is None or PRINCIPAL not in request:
        return await handler(request)
    try:
        org_id = uuid.UUID(header)
    except ValueError:
        raise ValidationFailed.on_field("X-Org-ID", "must be an organization id (UUID)") from None
    principal = request[PRINCIPAL]
    if org_id != principal.home_org_id:
        if not principal.is_admin:
            raise Forbidden("X-Org-ID may name only your own organization")
        async with request.app[PG_POOL].acquire() as conn:
            exists = await conn.fetchval("SELECT 1 FROM organizations WHERE id = $1 AND deleted_at IS NULL", org_id)
        if not exists:
            raise NotFound("the organization named by X-Org-ID does not exist")
        request[PRINCIPAL] = Principal(
            user_id=principal.user_id,
            home_org_id=principal.home_org_id,
            role=principal.role,
            scopes=principal.scopes,
            org_id=org_id,
        )
    return await handler(request)


@web.middleware
async def authorization_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    spec = spec_of(request)
    if spec is None or spec.permission is None:
        return await handler(request)
    principal = request[PRINCIPAL]
    resource, action = spec.permission
    if spec.admin_only and not principal.is_admin:
        raise Forbidden("only an admin may do this")
    if not is_allowed(principal.role, resource, action):
        raise Forbidden(f"role {principal.role.value} may not {action.name.lower()} {resource.value}")
    return await handler(request)


@web.middleware
async def text_input_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """No query parameter of any route may hold a NUL character (bodies: bodies.read_json)."""
    if spec_of(request) is not None:
        refuse_nul_in_query(request)
    return await handler(request)
