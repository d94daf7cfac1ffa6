"""What command handlers need besides the command and its unit of work; built once from settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeAlias

from amss.app.commands.base import Issuer
from amss.app.commands.outcomes import Outcome
from amss.app.ports import Clock, PartItemLocks, UnitOfWorkFactory


@dataclass(frozen=True)
class CommandDeps:
    grounding_lead_time: timedelta
    # the part item's distributed lock (Redis); None where no Redis is given: part commands are not run there
    part_item_locks: PartItemLocks | None = None

    def locks(self) -> PartItemLocks:
        if self.part_item_locks is None:
            raise RuntimeError("part item commands need the part item locks")
        return self.part_item_locks


# a handler: the command, who issued it, the command's own unit of work, the clock, the dependencies
Handler: TypeAlias = Callable[[Any, Issuer, UnitOfWorkFactory, Clock, CommandDeps], Awaitable[Outcome]]
