"""The command side of a process: the handler registry, the command bus and the mesh worker's config."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Final

from amss.actors.bus import CommandBus
from amss.actors.executor import CommandExecutor, CommandHandler
from amss.actors.node import MeshConfig
from amss.actors.registry import command_handlers
from amss.actors.replies import ReplyListener
from amss.bootstrap.resources import Resources
from amss.config import Settings
from amss.infra.postgres.command_acceptance import CommandAcceptor
from amss.infra.postgres.command_log import PgCommandLog
from amss.infra.redis.locks import RedisPartItemLocks

# The diagnostic command types (diag.*) live with the benchmark harness, outside the product's import
# graph (contract bench-outside-product): loaded by name, and only when AMSS_DIAGNOSTIC_COMMANDS is on
# (refused in production), for the mesh tests and `amss bench mesh`.
DIAGNOSTICS_MODULE: Final = "amss.bench.diagnostics"


def diagnostic_handlers(settings: Settings) -> dict[str, CommandHandler]:
    """The diag.* handlers when AMSS_DIAGNOSTIC_COMMANDS is on, else none (amss.bench is then never imported)."""
    if not settings.amss_diagnostic_commands:
        return {}
    loaded: dict[str, CommandHandler] = importlib.import_module(DIAGNOSTICS_MODULE).DIAGNOSTIC_HANDLERS
    return dict(loaded)


def part_item_locks(resources: Resources) -> RedisPartItemLocks:
    return RedisPartItemLocks(resources.redis, resources.keys)


def handlers(resources: Resources, locks: RedisPartItemLocks | None = None) -> dict[str, CommandHandler]:
    """The registry, over the process's clock and part item locks."""
    return command_handlers(
        resources.settings,
        locks or part_item_locks(resources),
        resources.clock,
        diagnostic_handlers(resources.settings),
    )


def mesh_config(settings: Settings) -> MeshConfig:
    return MeshConfig(
        worker_id=settings.worker_id,
        partitions=settings.amss_partitions,
        concurrency=settings.amss_worker_concurrency,
        lease_ttl=settings.amss_lease_ttl.total_seconds(),
        heartbeat_interval=settings.amss_heartbeat_interval.total_seconds(),
        command_timeout=settings.amss_command_timeout.total_seconds(),
        max_deliveries=settings.amss_max_deliveries,
        redrive_after=settings.amss_command_redrive_after.total_seconds(),
    )


@asynccontextmanager
async def open_command_bus(
    resources: Resources, registry: dict[str, CommandHandler], *, reply_to: str, executor_name: str
) -> AsyncIterator[CommandBus]:
    """With the mesh on, a bus that reads its replies from `reply_to`; off, one that runs `registry` in-process."""
    settings = resources.settings
    async with AsyncExitStack() as stack:
        replies: ReplyListener | None = None
        local: CommandExecutor | None = None
        if settings.amss_mesh:
            replies = ReplyListener(resources.redis, resources.keys.reply_stream(reply_to))
            replies.start()
            stack.push_async_callback(replies.stop)
        else:
            local = CommandExecutor(
                PgCommandLog(resources.pool), registry, settings.amss_command_timeout.total_seconds(), executor_name
            )
        bus = CommandBus(
            CommandAcceptor(resources.pool),
            resources.redis,
            resources.keys,
            settings.amss_partitions,
            replies,
            local,
            resources.batcher,
        )
        stack.push_async_callback(bus.close)
        yield bus
