"""The API's one error shape and the mapping of every failure onto it.

`{"error": message, "code": CODE, "request_id": uuid, "details": {...}}` for domain errors,
API-level errors, aiohttp's own HTTP errors (unknown route, 405, 413 …), a body aiohttp could not
read (a broken chunk, fewer bytes than Content-Length: 400, a warning), unavailable dependencies
(503), a database error the translation table knows (amss/infra/postgres/errors.py: constraint
violations, class 22 data exceptions) and anything unexpected (500, revealing nothing internal).

A client that hung up (its connection is gone and the failure is the lost connection) gets no
answer — there is no one to send it to — and no error: it is logged at INFO and counted with
status 499, "client closed request" as nginx calls it, never as a 503.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

import asyncpg
import redis.exceptions
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from amss.api.error_shape import error_body
from amss.api.rest.context import REQUEST_ID
from amss.api.rest.services import ERROR_TRANSLATOR
from amss.app.error_codes import code_for_http_status, http_status
from amss.domain.errors import DomainError

log = logging.getLogger(__name__)

# the message of aiohttp's own HTTP errors, by their code (the code comes from the error table)
_HTTP_ERROR_MESSAGES: Final[dict[str, str]] = {
    "VALIDATION_ERROR": "bad request",
    "UNAUTHORIZED": "authentication required",
    "FORBIDDEN": "forbidden",
    "NOT_FOUND": "no such route",
    "METHOD_NOT_ALLOWED": "method not allowed",
    "PAYLOAD_TOO_LARGE": "request body too large",
    "UNSUPPORTED_MEDIA_TYPE": "unsupported media type",
}
# nginx's status for a request whose client closed the connection before the answer; never sent
CLIENT_CLOSED_STATUS: Final = 499
# what reading a body or writing an answer raises once the client's connection is gone
CLIENT_GONE_ERRORS: Final = (ConnectionError, RequestPayloadError, HttpProcessingError)
# what aiohttp raises for a body it could not read while the client is still there
BODY_ERRORS: Final = (RequestPayloadError, HttpProcessingError)
# connection failures of Postgres and Redis (OSError: a refused or reset connection to either)
UNAVAILABLE_ERRORS: Final = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.ConnectionDoesNotExistError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


class ApiError(Exception):
    """An error decided by the HTTP layer itself (idempotency, rate limits, media types …)."""

    def __init__(
        self, code: str, message: str, details: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}
        self.headers = headers or {}
        self.status = http_status(code)


def error_response(
    request: web.Request,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = error_body(code, message, request.get(REQUEST_ID, ""), details)
    return web.Response(status=status, body=body, content_type="application/json", headers=headers or {})


def client_gone(request: web.Request) -> bool:
    """The client's connection is closed (or closing): nothing can be answered any more."""
    transport = request.transport
    return transport is None or transport.is_closing()


def respond_to(request: web.Request, exc: BaseException) -> web.Response:
    """The error response for any exception a handler or middleware raised."""
    if isinstance(exc, CLIENT_GONE_ERRORS) and client_gone(request):
        log.info("client closed the request", extra={"error": repr(exc), "request_id": request.get(REQUEST_ID)})
        return web.Response(status=CLIENT_CLOSED_STATUS)  # counted and logged; aiohttp cannot send it
    if isinstance(exc, BODY_ERRORS):
        log.warning("unreadable request body", extra={"error": repr(exc), "request_id": request.get(REQUEST_ID)})
        return error_response(request, 400, "VALIDATION_ERROR", "the request body could not be read")
    if isinstance(exc, asyncpg.PostgresError) and ERROR_TRANSLATOR in request.app:
        # one raised outside a unit of work, which translates its own
        exc = request.app[ERROR_TRANSLATOR].translate(exc) or exc
    if isinstance(exc, DomainError):
        headers = {"WWW-Authenticate": 'Bearer realm="amss"'} if exc.code == "UNAUTHORIZED" else None
        return error_response(request, http_status(exc.code), exc.code, exc.message, exc.details, headers)
    if isinstance(exc, ApiError):
        return error_response(request, exc.status, exc.code, exc.message, exc.details, exc.headers)
    if isinstance(exc, web.HTTPException):
        code = code_for_http_status(exc.status) or "VALIDATION_ERROR"
        message = _HTTP_ERROR_MESSAGES.get(code, "")
        if not message:  # a status only aiohttp itself raises: its reason, as a validation error
            code, message = "VALIDATION_ERROR", exc.reason
        headers = {"Allow": exc.headers["Allow"]} if exc.status == 405 and "Allow" in exc.headers else None
        if exc.status == 405 and isinstance(exc, web.HTTPMethodNotAllowed):
            message = f"method {exc.method} not allowed; allowed: {', '.join(sorted(exc.allowed_methods))}"
        return error_response(request, exc.status, code, message, headers=headers)
    if isinstance(exc, UNAVAILABLE_ERRORS):
        log.warning("dependency unavailable", extra={"error": repr(exc), "request_id": request.get(REQUEST_ID)})
        return error_response(request, 503, "UNAVAILABLE", "a dependency is unavailable; try again shortly")
    log.error("unhandled error", exc_info=exc, extra={"request_id": request.get(REQUEST_ID)})
    return error_response(request, 500, "INTERNAL", "internal error")
