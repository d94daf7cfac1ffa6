"""Domain errors: what a rule says went wrong, independent of HTTP or gRPC.

One REST middleware and one gRPC interceptor map each `code` to a status; infrastructure
failures are not domain errors and stay separate.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every rule violation; `code` is the API error code, `details` extra context."""

    code: ClassVar[str] = "CONFLICT"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}


class ValidationFailed(DomainError):
    code = "VALIDATION_ERROR"

    @classmethod
    def on_field(cls, field: str, problem: str) -> ValidationFailed:
        return cls(f"{field}: {problem}", {"fields": {field: problem}})


class Unauthorized(DomainError):
    code = "UNAUTHORIZED"


class Forbidden(DomainError):
    code = "FORBIDDEN"


class NotFound(DomainError):
    code = "NOT_FOUND"


class Conflict(DomainError):
    code = "CONFLICT"


class ScheduleOverlap(Conflict):
    code = "SCHEDULE_OVERLAP"


class InvalidTransition(Conflict):
    code = "CONFLICT"


class Immutable(Conflict):
    code = "CONFLICT"


class PreconditionFailed(DomainError):
    code = "PRECONDITION_FAILED"
