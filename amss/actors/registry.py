"""Which handler runs each command type; built once in the composition root."""

from __future__ import annotations

from amss.actors.diagnostics import DIAGNOSTIC_HANDLERS
from amss.actors.executor import CommandHandler
from amss.config import Settings


def command_handlers(settings: Settings) -> dict[str, CommandHandler]:
    handlers: dict[str, CommandHandler] = {}
    if settings.amss_diagnostic_commands:
        handlers.update(DIAGNOSTIC_HANDLERS)
    return handlers
