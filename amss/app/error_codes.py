"""The one error table: each error code's HTTP status, gRPC status name and meaning (docs/api.md "Errors").

Read by the REST error middleware, the OpenAPI document, the command renderer and the gRPC error
mapping (amss/api/grpc/errors.py); no other module maps codes to statuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class ErrorCode:
    http_status: int
    grpc_status: str  # a grpc.StatusCode name
    description: str


# per HTTP status, the first code is the one an HTTP-level error of that status gets
ERROR_CODES: Final[dict[str, ErrorCode]] = {
    "VALIDATION_ERROR": ErrorCode(400, "INVALID_ARGUMENT", "malformed input, failed validation or an unknown field"),
    "UNAUTHORIZED": ErrorCode(401, "UNAUTHENTICATED", "missing, malformed, expired or revoked token, or bad login"),
    "FORBIDDEN": ErrorCode(403, "PERMISSION_DENIED", "the caller's role may not do this"),
    "NOT_FOUND": ErrorCode(404, "NOT_FOUND", "no such object in the caller's organization, or X-Org-ID names none"),
    "METHOD_NOT_ALLOWED": ErrorCode(405, "UNIMPLEMENTED", "the method is not allowed on this path"),
    "CONFLICT": ErrorCode(409, "FAILED_PRECONDITION", "a unique value taken, an invalid transition or a rule violated"),
    "SCHEDULE_OVERLAP": ErrorCode(409, "FAILED_PRECONDITION", "the task overlaps the aircraft's schedule"),
    "IDEMPOTENCY_KEY_REUSED": ErrorCode(409, "ABORTED", "the idempotency key was used for another request"),
    "IDEMPOTENCY_IN_PROGRESS": ErrorCode(409, "ABORTED", "a request with this idempotency key is still running"),
    "PRECONDITION_FAILED": ErrorCode(412, "ABORTED", "If-Match does not match the current version"),
    "REQUEST_TIMEOUT": ErrorCode(408, "DEADLINE_EXCEEDED", "the client stopped sending its request body"),
    "PAYLOAD_TOO_LARGE": ErrorCode(413, "RESOURCE_EXHAUSTED", "the request body is over the limit"),
    "UNSUPPORTED_MEDIA_TYPE": ErrorCode(
        415,
        "INVALID_ARGUMENT",
        "the request body is not application/json (multipart/form-data for an upload), or in a Content-Encoding not"
        " decoded",
    ),
    "RATE_LIMITED": ErrorCode(429, "RESOURCE_EXHAUSTED", "over the rate limit of this endpoint category"),
    "INTERNAL": ErrorCode(500, "INTERNAL", "internal error; the message reveals nothing internal"),
    "UNAVAILABLE": ErrorCode(503, "UNAVAILABLE", "a dependency is unavailable; try again shortly"),
}
# a code no row names (a domain error subclass added without one) is a rule violation
_DEFAULT: Final = ERROR_CODES["CONFLICT"]


def error_code(code: str) -> ErrorCode:
    return ERROR_CODES.get(code, _DEFAULT)


def http_status(code: str) -> int:
    return error_code(code).http_status


def code_for_http_status(status: int) -> str | None:
    """The code of an HTTP-level error (an unknown route, 405, 413 ...): the table's first with that status."""
    return next((code for code, row in ERROR_CODES.items() if row.http_status == status), None)


def codes_with_http_status(status: int) -> list[str]:
    return [code for code, row in ERROR_CODES.items() if row.http_status == status]


def grpc_status_name(code: str) -> str:
    """The grpc.StatusCode name of a code (docs/api.md "gRPC")."""
    return error_code(code).grpc_status
