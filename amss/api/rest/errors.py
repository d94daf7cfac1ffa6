"""The API's one error shape and the mapping of every failure onto it.

`{"error": message, "code": CODE, "request_id": uuid, "details": {...}}` for domain errors,
API-level errors, aiohttp's own HTTP errors (unknown route, 405, 413 …), unavailable
dependencies (503), a database error the translation table knows (amss/infra/postgres/errors.py:
constraint violations, class 22 data exceptions) and anything unexpected (500, revealing nothing
internal).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

import asyncpg
import redis.exceptions
from aiohttp import web

from amss.api.error_shape import STATUS_BY_CODE, error_body
from amss.api.rest.context import REQUEST_ID
from amss.domain.errors import DomainError
from amss.infra.postgres.errors import translate

log = logging.getLogger(__name__)

_CODE_BY_HTTP_STATUS: Final[dict[int, tuple[str, str]]] = {
    400: ("VALIDATION_ERROR", "bad request"),
    401: ("UNAUTHORIZED", "authentication required"),
    403: ("FORBIDDEN", "forbidden"),
    404: ("NOT_FOUND", "no such route"),
    405: ("METHOD_NOT_ALLOWED", "method not allowed"),
    413: ("PAYLOAD_TOO_LARGE", "request body too large"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "unsupported media type"),
}
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
        self.status = STATUS_BY_CODE[code]


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


def respond_to(request: web.Request, exc: BaseException) -> web.Response:
    """The error response for any exception a handler or middleware raised."""
    if isinstance(exc, asyncpg.PostgresError):  # one raised outside a unit of work, which translates its own
        exc = translate(exc) or exc
    if isinstance(exc, DomainError):
        headers = {"WWW-Authenticate": 'Bearer realm="amss"'} if exc.code == "UNAUTHORIZED" else None
        return error_response(request, STATUS_BY_CODE.get(exc.code, 409), exc.code, exc.message, exc.details, headers)
    if isinstance(exc, ApiError):
        return error_response(request, exc.status, exc.code, exc.message, exc.details, exc.headers)
    if isinstance(exc, web.HTTPException):
        code, message = _CODE_BY_HTTP_STATUS.get(exc.status, ("VALIDATION_ERROR", exc.reason))
        headers = {"Allow": exc.headers["Allow"]} if exc.status == 405 and "Allow" in exc.headers else None
        if exc.status == 405 and isinstance(exc, web.HTTPMethodNotAllowed):
            message = f"method {exc.method} not allowed; allowed: {', '.join(sorted(exc.allowed_methods))}"
        return error_response(request, exc.status, code, message, headers=headers)
    if isinstance(exc, UNAVAILABLE_ERRORS):
        log.warning("dependency unavailable", extra={"error": repr(exc), "request_id": request.get(REQUEST_ID)})
        return error_response(request, 503, "UNAVAILABLE", "a dependency is unavailable; try again shortly")
    log.error("unhandled error", exc_info=exc, extra={"request_id": request.get(REQUEST_ID)})
    return error_response(request, 500, "INTERNAL", "internal error")
