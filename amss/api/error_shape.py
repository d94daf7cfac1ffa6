"""The error body every entry point returns: `{"error", "code", "request_id", "details"?}`, and
the HTTP status of each code (docs/api.md "Errors"). Shared by REST handlers and command results.
"""

from __future__ import annotations

from typing import Any, Final

import orjson

STATUS_BY_CODE: Final[dict[str, int]] = {
    "VALIDATION_ERROR": 400,
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "NOT_FOUND": 404,
    "METHOD_NOT_ALLOWED": 405,
    "CONFLICT": 409,
    "SCHEDULE_OVERLAP": 409,
    "IDEMPOTENCY_KEY_REUSED": 409,
    "IDEMPOTENCY_IN_PROGRESS": 409,
    "PRECONDITION_FAILED": 412,
    "PAYLOAD_TOO_LARGE": 413,
    "UNSUPPORTED_MEDIA_TYPE": 415,
    "RATE_LIMITED": 429,
    "INTERNAL": 500,
    "UNAVAILABLE": 503,
}


def error_body(code: str, message: str, request_id: str, details: dict[str, Any] | None = None) -> bytes:
    body: dict[str, Any] = {"error": message, "code": code, "request_id": request_id}
    if details:
        body["details"] = details
    return orjson.dumps(body)
