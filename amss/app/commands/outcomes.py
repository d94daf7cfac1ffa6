"""A command's outcome, whatever front submitted it: the resulting resource view, or a domain error.

Never an HTTP status, header or body: the REST front renders an outcome into those,
gRPC will render it into its own messages. The command row stores it (migration 00013).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias


@dataclass(frozen=True)
class CommandError:
    """A broken rule or a failure, as the error table knows it (amss/app/error_codes.py)."""

    code: str
    message: str
    details: dict[str, Any] | None = None


@dataclass(frozen=True)
class Succeeded:
    # what GET of the resource shows (JSON primitives only); None when nothing is left to show (a delete)
    view: dict[str, Any] | None
    # false when the command found nothing to do (a program not due, an aircraft not to ground)
    changed: bool = True

    @property
    def succeeded(self) -> bool:
        return True


@dataclass(frozen=True)
class Failed:
    error: CommandError

    @property
    def succeeded(self) -> bool:
        return False


Outcome: TypeAlias = Succeeded | Failed


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    """The outcome as one JSON object (the reply stream carries it)."""
    if isinstance(outcome, Succeeded):
        return {"view": outcome.view, "changed": outcome.changed}
    error = outcome.error
    return {"error": {"code": error.code, "message": error.message, "details": error.details}}


def outcome_from_json(value: dict[str, Any]) -> Outcome:
    if "error" in value:
        error = value["error"]
        return Failed(CommandError(str(error["code"]), str(error["message"]), error.get("details")))
    return Succeeded(value.get("view"), bool(value.get("changed", True)))


def internal_failure() -> Failed:
    """A command that failed deterministically: INTERNAL, revealing nothing of the cause."""
    return Failed(CommandError("INTERNAL", "the command failed unexpectedly"))


def infrastructure_failure(attempts: int) -> Failed:
    """A command given up on after it kept failing for infrastructure reasons."""
    return Failed(CommandError("INTERNAL", f"the command could not be executed after {attempts} attempts"))
