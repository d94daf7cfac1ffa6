"""Which handler runs each command type; built once in the composition root."""

from __future__ import annotations

from redis.asyncio import Redis

from amss.actors.diagnostics import DIAGNOSTIC_HANDLERS
from amss.actors.executor import CommandHandler
from amss.actors.handlers.aircraft import AircraftCommands
from amss.actors.handlers.parts import PartCommands
from amss.actors.handlers.programs import ProgramCommands
from amss.actors.handlers.tasks import TaskCommands
from amss.config import Settings
from amss.infra.redis.keys import KeySpace
from amss.infra.redis.locks import RedisPartItemLocks


def command_handlers(settings: Settings, redis: Redis | None = None) -> dict[str, CommandHandler]:
    """The part item's commands need the Redis lock, so they are registered only when `redis` is given."""
    handlers: dict[str, CommandHandler] = {}
    handlers.update(AircraftCommands(settings.amss_grounding_lead_time).handlers())
    handlers.update(TaskCommands(settings.amss_grounding_lead_time).handlers())
    handlers.update(ProgramCommands(settings.amss_grounding_lead_time).handlers())
    if redis is not None:
        handlers.update(PartCommands(RedisPartItemLocks(redis, KeySpace(settings.amss_redis_prefix))).handlers())
    if settings.amss_diagnostic_commands:
        handlers.update(DIAGNOSTIC_HANDLERS)
    return handlers
