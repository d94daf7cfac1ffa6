"""Which handler runs each command type: the application's registry, bound to its dependencies once.

The executor runs a `CommandHandler` over a `CommandContext` (the command's transaction). Each
registry entry becomes one: the stored payload is parsed once into the command's model, and the
handler gets it with its issuer, the command's unit of work, the clock and the dependencies.
"""

from __future__ import annotations

from collections.abc import Mapping

from amss.actors.executor import CommandContext, CommandHandler
from amss.app.clock import Clock, utc_now
from amss.app.commands.base import CommandModel, Issuer, parse_payload
from amss.app.commands.deps import CommandDeps, Handler
from amss.app.commands.outcomes import Outcome
from amss.app.handlers import COMMAND_HANDLERS, NEEDS_PART_ITEM_LOCKS
from amss.app.ports import PartItemLocks
from amss.config import Settings


def bind(model: type[CommandModel], handler: Handler, clock: Clock, deps: CommandDeps) -> CommandHandler:
    """The executor's handler for one command type."""

    async def run(context: CommandContext) -> Outcome:
        command = parse_payload(model, context.command.payload)
        issuer = Issuer(context.command.org_id, context.command.acting())
        return await handler(command, issuer, context.unit_of_work, clock, deps)

    return run


def command_handlers(
    settings: Settings,
    locks: PartItemLocks | None = None,
    clock: Clock = utc_now,
    extra: Mapping[str, CommandHandler] | None = None,
) -> dict[str, CommandHandler]:
    """The part item's commands need the part item locks, so they are registered only when `locks` is given.

    `extra`: executor-level handlers added as they are (the composition root passes the diagnostic
    command types of amss/bench/diagnostics.py when AMSS_DIAGNOSTIC_COMMANDS is on).
    """
    deps = CommandDeps(settings.amss_grounding_lead_time, locks)
    handlers = {
        model.TYPE: bind(model, handler, clock, deps)
        for model, handler in COMMAND_HANDLERS.items()
        if locks is not None or model not in NEEDS_PART_ITEM_LOCKS
    }
    if extra:
        handlers.update(extra)
    return handlers
