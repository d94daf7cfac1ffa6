"""The command bus as the fronts see it: a port. The mesh (`amss.actors.bus.CommandBus`) implements it.

REST and the jobs submit commands through this Protocol, so they never import the mesh; the
composition root (`amss.bootstrap`) hands them the concrete bus.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from amss.app.commands.base import CommandModel
from amss.app.commands.envelope import Command
from amss.app.commands.outcomes import Outcome
from amss.domain.principal import Actor


@dataclass(frozen=True)
class Submission:
    command: Command
    # None: not finished within the wait; the client polls GET /commands/{id}
    outcome: Outcome | None

    @property
    def command_id(self) -> uuid.UUID:
        return self.command.id


class CommandSender(Protocol):
    async def send(
        self,
        org_id: uuid.UUID,
        command: CommandModel,
        acting: Actor,
        wait: float,
        *,
        command_id: uuid.UUID | None = None,
    ) -> Submission:
        """Submit a typed command and wait up to `wait` seconds for its outcome.

        `command_id` (default: a new one) makes a retried submission the same command: it runs once,
        and a repeat gets the stored outcome (the CSV import keys each row's command by its row)."""
        ...

    async def submit(
        self,
        org_id: uuid.UUID,
        actor: str,
        command_type: str,
        payload: dict[str, Any],
        acting: Actor,
        wait: float,
        *,
        command_id: uuid.UUID | None = None,
    ) -> Submission:
        """Submit a command by its parts (a diagnostic command names its own actor)."""
        ...
