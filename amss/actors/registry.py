"""Which handler runs each command type; built once in the composition root."""

from __future__ import annotations

from amss.actors.diagnostics import DIAGNOSTIC_HANDLERS
from amss.actors.executor import CommandHandler
from amss.actors.handlers.aircraft import AircraftCommands
from amss.actors.handlers.parts import PartCommands
from amss.actors.handlers.programs import ProgramCommands
from amss.actors.handlers.tasks import TaskCommands
from amss.app.clock import Clock, utc_now
from amss.app.ports import PartItemLocks
from amss.config import Settings


def command_handlers(
    settings: Settings, locks: PartItemLocks | None = None, clock: Clock = utc_now
) -> dict[str, CommandHandler]:
    """The part item's commands need the part item locks, so they are registered only when `locks` is given."""
    handlers: dict[str, CommandHandler] = {}
    handlers.update(AircraftCommands(settings.amss_grounding_lead_time, clock).handlers())
    handlers.update(TaskCommands(settings.amss_grounding_lead_time, clock).handlers())
    handlers.update(ProgramCommands(settings.amss_grounding_lead_time, clock).handlers())
    if locks is not None:
        handlers.update(PartCommands(locks, clock).handlers())
    if settings.amss_diagnostic_commands:
        handlers.update(DIAGNOSTIC_HANDLERS)
    return handlers
