"""The call pipeline, unary and streaming alike, in REST's order: request id -> access log and metrics ->
errors -> authentication -> tenancy -> authorisation -> text input -> rate limit -> idempotency -> servicer.

One `grpc.aio.ServerInterceptor` wraps each amss.v1 method's handler with these stages, reading the
method's `MethodSpec` (methods.py) as REST reads a `RouteSpec`. Health and reflection have no spec:
they are served without a token (counted and logged all the same). The stages use the same token
verifier and cache, RBAC table, rate-limit policy and limiter, and idempotency store and rules as
REST (amss.app.rate_limits, amss.app.idempotency), all passed in by the composition root.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

import grpc
import orjson
from google.protobuf import message_factory
from google.protobuf.message import Message

from amss.api.grpc.call import CURRENT_CALL, CallError, CallState, metadata_dict, peer_ip, user_agent
from amss.api.grpc.errors import render, trailing_metadata
from amss.api.grpc.gen import amss_pb2
from amss.api.grpc.messages import refuse_nul
from amss.api.grpc.methods import BY_NAME, MethodSpec
from amss.api.grpc.metrics import GrpcMetrics
from amss.app.error_codes import http_status
from amss.app.idempotency import (
    Existing,
    Idempotency,
    KeyScope,
    StoredResponse,
    hash_parts,
    is_storable,
    valid_key_text,
)
from amss.app.organizations import OrganizationService
from amss.app.rate_limits import RateLimiterUnavailable, RateLimits, fails_closed, org_decision
from amss.auth.rbac import is_allowed, is_writer
from amss.auth.tokens import TokenService
from amss.domain.errors import DomainError, Forbidden, NotFound, Unauthorized, ValidationFailed
from amss.domain.principal import Principal

log = logging.getLogger("amss.access")
_warn = logging.getLogger(__name__)

IDEMPOTENCY_KEY: Final = "idempotency-key"
REPLAYED_KEY: Final = "idempotent-replayed"
# a gRPC answer stored under an idempotency key: 200 + the serialized message, or the error's JSON;
# a command accepted but not finished within the wait is stored as REST stores its 202
_MESSAGE_TYPE: Final = "application/x-protobuf"
_JSON_TYPE: Final = "application/json"
# how much of a refused stream is read before its status is sent
_DRAIN_MESSAGES: Final = 64
_DRAIN_SECONDS: Final = 1.0


class CommandPending(CallError):
    """Accepted and durable, but not finished within the wait: UNAVAILABLE, with the id to poll (REST's 202)."""

    STORED_STATUS: Final = 202

    def __init__(self, command_id: uuid.UUID) -> None:
        super().__init__(
            "UNAVAILABLE",
            f"the command was accepted but did not finish within the wait; poll /api/v1/commands/{command_id}",
            {"command_id": str(command_id), "status": "accepted"},
        )


@dataclass(frozen=True)
class GrpcEdge:
    """What the pipeline needs, built once by the composition root."""

    tokens: TokenService
    organizations: OrganizationService
    rate_limits: RateLimits
    idempotency: Idempotency
    metrics: GrpcMetrics


def _response_class(full_name: str) -> type[Message]:
    _, service, method = full_name.split("/")
    descriptor = amss_pb2.DESCRIPTOR.services_by_name[service.removeprefix("amss.v1.")].methods_by_name[method]
    return message_factory.GetMessageClass(descriptor.output_type)


class AmssInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, edge: GrpcEdge) -> None:
        self._edge = edge
        self._responses = {name: _response_class(name) for name in BY_NAME}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        method: str = handler_call_details.method
        spec = BY_NAME.get(method)
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(method, spec, handler.unary_unary),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.stream_stream is not None and spec is not None:
            return grpc.stream_stream_rpc_method_handler(
                self._stream(method, spec, handler.stream_stream),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler  # reflection's and health's streams: no token, nothing to add

    # --- the two shapes -------------------------------------------------------------------------

    def _unary(
        self, method: str, spec: MethodSpec | None, inner: Callable[..., Any]
    ) -> Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]:
        async def behavior(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            call = _begin(method, context)
            token = CURRENT_CALL.set(call)
            started, outcome = time.perf_counter(), ["OK"]
            try:
                await context.send_initial_metadata((("x-request-id", call.request_id),))
                if spec is None:
                    return await inner(request, context)
                await self._admit(spec, call)
                await self._spend(call, spec.category)
                refuse_nul(request)
                key = call.metadata.get(IDEMPOTENCY_KEY)
                if spec.idempotent and key is not None:
                    return await self.run_idempotent(
                        call,
                        context,
                        key,
                        method,
                        request.SerializeToString(deterministic=True),
                        self._responses[method],
                        lambda: inner(request, context),
                    )
                return await inner(request, context)
            except asyncio.CancelledError:
                outcome[0] = "CANCELLED"
                raise
            except Exception as exc:
                await _abort(context, exc, call, outcome)
            finally:
                self._finish(method, call, outcome[0], started)
                with contextlib.suppress(ValueError):  # a generator closed from another context
                    CURRENT_CALL.reset(token)

        return behavior

    def _stream(
        self, method: str, spec: MethodSpec, inner: Callable[..., Any]
    ) -> Callable[[Any, grpc.aio.ServicerContext[Any, Any]], AsyncIterator[Any]]:
        async def behavior(requests: Any, context: grpc.aio.ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            call = _begin(method, context)
            token = CURRENT_CALL.set(call)
            started, outcome = time.perf_counter(), ["OK"]
            reading = False
            try:
                await context.send_initial_metadata((("x-request-id", call.request_id),))
                await self._admit(spec, call)
                call.spend = lambda category: self._spend(call, category)
                key = call.metadata.get(IDEMPOTENCY_KEY)
                if key is not None and not valid_key_text(key):
                    raise ValidationFailed.on_field(IDEMPOTENCY_KEY, "must be 1 to 255 visible ASCII characters")
                reading = True
                async for response in inner(requests, context):
                    yield response
            except (asyncio.CancelledError, GeneratorExit):
                outcome[0] = "CANCELLED"
                raise
            except Exception as exc:
                if not reading:
                    await _drain(context)
                await _abort(context, exc, call, outcome)
            finally:
                self._finish(method, call, outcome[0], started)
                with contextlib.suppress(ValueError):  # a generator closed from another context
                    CURRENT_CALL.reset(token)

        return behavior

    # --- the stages -----------------------------------------------------------------------------

    async def _admit(self, spec: MethodSpec, call: CallState) -> None:
        """Authentication, tenancy (`x-org-id`) and authorisation, as REST's middlewares do them."""
        claims = self._edge.tokens.verify_access(_bearer_token(call.metadata))
        principal = Principal(user_id=claims.user_id, home_org_id=claims.org_id, role=claims.role, scopes=claims.scopes)
        call.principal = principal
        job = call.job
        if job is not None and job not in spec.jobs:
            raise Forbidden(f"a service credential of {job} may not call {spec.method}")
        header = call.metadata.get("x-org-id")
        if header is not None:
            try:
                org_id = uuid.UUID(header)
            except ValueError:
                raise ValidationFailed.on_field("x-org-id", "must be an organization id (UUID)") from None
            if org_id != principal.home_org_id:
                if not principal.is_admin:
                    raise Forbidden("x-org-id may name only your own organization")
                try:
                    await self._edge.organizations.get(principal, org_id)
                except NotFound:
                    raise NotFound("the organization named by x-org-id does not exist") from None
                call.principal = principal = Principal(
                    user_id=principal.user_id,
                    home_org_id=principal.home_org_id,
                    role=principal.role,
                    scopes=principal.scopes,
                    org_id=org_id,
                )
        resource, action = spec.permission
        if spec.writers_only and not is_writer(principal.role):
            raise Forbidden(f"role {principal.role.value} may not record actions")
        if not is_allowed(principal.role, resource, action):
            raise Forbidden(f"role {principal.role.value} may not {action.name.lower()} {resource.value}")

    async def _spend(self, call: CallState, category: str) -> None:
        """One call (or one batch message) against the organization's limit of `category`."""
        org_id = call.require_principal().org_id
        try:
            limit, decision = await org_decision(self._edge.rate_limits, org_id, category)
        except RateLimiterUnavailable as exc:
            outcome = "closed" if fails_closed(category) else "open"
            _warn.warning(
                "rate limiter unreachable; failing %s",
                outcome,
                extra={"category": category, "error": repr(exc.__cause__ or exc), "request_id": call.request_id},
            )
            if fails_closed(category):
                raise CallError("UNAVAILABLE", "briefly unavailable; try again shortly") from exc
            return
        if not decision.allowed:
            self._edge.metrics.rate_limit_rejections_total.labels(category).inc()
            seconds = decision.retry_after_seconds
            raise CallError(
                "RATE_LIMITED",
                f"rate limit of {limit} {category} requests per minute reached; retry in {seconds} s",
                {"category": category, "retry_after_seconds": seconds},
            )

    async def run_idempotent(
        self,
        call: CallState,
        context: grpc.aio.ServicerContext[Any, Any] | None,
        key: str,
        endpoint: str,
        request_bytes: bytes,
        response_class: type[Message],
        run: Callable[[], Awaitable[Any]],
    ) -> Any:
        """REST's rules over the same store: claim; replay, refuse or run; store the answer unless transient."""
        if not valid_key_text(key):
            raise ValidationFailed.on_field(IDEMPOTENCY_KEY, "must be 1 to 255 visible ASCII characters")
        this_hash = hash_parts(b"grpc", endpoint.encode(), request_bytes)
        idempotency = self._edge.idempotency
        claim = await idempotency.claim(KeyScope(call.require_principal().org_id, key, f"grpc {endpoint}"), this_hash)
        if isinstance(claim, Existing):
            return _answer_existing(claim, this_hash, response_class, context)
        try:
            try:
                response = await run()
            except (DomainError, CallError) as exc:
                status = CommandPending.STORED_STATUS if isinstance(exc, CommandPending) else http_status(exc.code)
                if not is_storable(status):
                    raise
                body = orjson.dumps({"code": exc.code, "message": exc.message, "details": exc.details})
                stored = StoredResponse(status, body, {"Content-Type": _JSON_TYPE})
                await idempotency.complete(claim, stored, orjson.loads(body))
                raise
        except BaseException as exc:
            if not isinstance(exc, DomainError | CallError) or not _was_stored(exc):
                await idempotency.release(claim)
            raise
        await idempotency.complete(
            claim, StoredResponse(200, response.SerializeToString(), {"Content-Type": _MESSAGE_TYPE}), None
        )
        return response

    def _finish(self, method: str, call: CallState, code: str, started: float) -> None:
        duration = time.perf_counter() - started
        _, service, name = method.split("/")
        metrics = self._edge.metrics
        metrics.handled_total.labels(service, name, code).inc()
        metrics.handling_seconds.labels(service, name).observe(duration)
        principal = call.principal
        log.info(
            "request",
            extra={
                "request_id": call.request_id,
                "org_id": str(principal.org_id) if principal else None,
                "user_id": str(principal.user_id) if principal else None,
                "route": method,
                "method": "grpc",
                "status": code,
                "duration_ms": round(duration * 1000, 3),
            },
        )


def _was_stored(exc: DomainError | CallError) -> bool:
    status = CommandPending.STORED_STATUS if isinstance(exc, CommandPending) else http_status(exc.code)
    return is_storable(status)


def _answer_existing(
    existing: Existing,
    this_hash: str,
    response_class: type[Message],
    context: grpc.aio.ServicerContext[Any, Any] | None,
) -> Message:
    if existing.request_hash != this_hash:
        raise CallError(
            "IDEMPOTENCY_KEY_REUSED", f"this {IDEMPOTENCY_KEY} was used for a different request (method or message)"
        )
    stored = existing.response
    if stored is None:
        seconds = existing.retry_after_seconds
        raise CallError(
            "IDEMPOTENCY_IN_PROGRESS",
            f"a request with this {IDEMPOTENCY_KEY} is still running; retry after {seconds} s",
            {"retry_after_seconds": seconds},
        )
    if context is not None:
        context.set_trailing_metadata(((REPLAYED_KEY, "true"),))
    if stored.headers.get("Content-Type") == _MESSAGE_TYPE:
        return response_class.FromString(stored.body)
    error = orjson.loads(stored.body)
    raise CallError(str(error["code"]), str(error["message"]), error.get("details") or {})


def _bearer_token(metadata: dict[str, str]) -> str:
    scheme, _, token = metadata.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing or malformed authorization metadata; expected 'Bearer <access token>'")
    return token.strip()


def _valid_uuid(text: str | None) -> str | None:
    if not text:
        return None
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def _begin(method: str, context: grpc.aio.ServicerContext[Any, Any]) -> CallState:
    metadata = metadata_dict(tuple(context.invocation_metadata() or ()))
    return CallState(
        method=method,
        request_id=_valid_uuid(metadata.get("x-request-id")) or str(uuid.uuid4()),
        peer_ip=peer_ip(context.peer()),
        user_agent=user_agent(metadata),
        metadata=metadata,
    )


async def _drain(context: grpc.aio.ServicerContext[Any, Any]) -> None:
    """Read what a refused stream's client already sent (a few messages, briefly) before the status goes out:
    grpc answers a bidirectional stream ended before its first read with INTERNAL now and then, in place of
    the status the server set."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(_DRAIN_SECONDS):
            for _ in range(_DRAIN_MESSAGES):
                if await context.read() is grpc.aio.EOF:
                    return


async def _abort(
    context: grpc.aio.ServicerContext[Any, Any], exc: Exception, call: CallState, outcome: list[str]
) -> None:
    if isinstance(exc, grpc.aio.AbortError):  # a servicer (health: an unknown service) set its own status
        code = context.code()
        outcome[0] = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
        raise exc
    rendered = render(exc, call.request_id)
    outcome[0] = rendered.status.name
    await context.abort(rendered.status, rendered.message, trailing_metadata(rendered))
