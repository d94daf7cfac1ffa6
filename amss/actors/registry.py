"""Which handler runs each command type; built once in the composition root."""

from __future__ import annotations

from amss.actors.diagnostics import DIAGNOSTIC_HANDLERS
from amss.actors.executor import CommandHandler
from amss.actors.handlers.aircraft import AircraftCommands
from amss.config import Settings


def command_handlers(settings: Settings) -> dict[str, CommandHandler]:
    handlers: dict[str, CommandHandler] = {}
    handlers.update(AircraftCommands(settings.amss_grounding_lead_time).handlers())
    if settings.amss_diagnostic_commands:
        handlers.update(DIAGNOSTIC_HANDLERS)
    return handlers
