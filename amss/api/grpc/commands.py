"""Submitting a typed command from a gRPC call and rendering its outcome: a view, or a status."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import grpc

from amss.api.grpc.call import CallError, CallState
from amss.api.grpc.interceptor import CommandPending
from amss.app.commands.base import CommandModel
from amss.app.commands.bus import CommandSender
from amss.app.commands.outcomes import Succeeded

MAX_WAIT_SECONDS: Final = 30.0
# kept back from the caller's deadline so the answer (or the pending status) still reaches it
_DEADLINE_MARGIN: Final = 0.25


@dataclass(frozen=True)
class Commands:
    sender: CommandSender
    default_wait: float  # AMSS_COMMAND_WAIT

    def wait_for(self, context: grpc.aio.ServicerContext[Any, Any] | None) -> float:
        """The caller's deadline (less a margin, at most 30 s) or, with none, AMSS_COMMAND_WAIT."""
        remaining = context.time_remaining() if context is not None else None
        if remaining is None:
            return self.default_wait
        return max(0.0, min(remaining - _DEADLINE_MARGIN, MAX_WAIT_SECONDS))

    async def run(self, call: CallState, command: CommandModel, wait: float) -> dict[str, Any]:
        """The succeeded command's view; a failed one raises its error, an unfinished one CommandPending."""
        org_id = call.require_principal().org_id
        submission = await self.sender.send(org_id, command, call.actor(), wait)
        outcome = submission.outcome
        if outcome is None:
            raise CommandPending(submission.command_id)
        if not isinstance(outcome, Succeeded):
            error = outcome.error
            raise CallError(error.code, error.message, error.details)
        return outcome.view or {}
