"""Mesh resources for the two processes: the worker's MeshWorker, the API's CommandBus and reply listener.

Both are aiohttp cleanup contexts, appended after the Postgres and Redis contexts they use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from amss.actors.bus import CommandBus
from amss.actors.executor import CommandExecutor
from amss.actors.metrics import MeshMetrics
from amss.actors.node import MeshConfig, MeshWorker
from amss.actors.registry import command_handlers
from amss.actors.replies import ReplyListener
from amss.config import Settings
from amss.infra.redis.keys import KeySpace
from amss.runtime import METRICS_REGISTRY, PG_POOL, REDIS, REDIS_BATCHER, SETTINGS

MESH_WORKER = web.AppKey("mesh_worker", MeshWorker)
COMMAND_BUS = web.AppKey("command_bus", CommandBus)


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


async def mesh_worker_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    worker = MeshWorker(
        mesh_config(settings),
        app[PG_POOL],
        app[REDIS],
        KeySpace(settings.amss_redis_prefix),
        command_handlers(settings, app[REDIS]),
        MeshMetrics.register(app[METRICS_REGISTRY]),
        app[REDIS_BATCHER],
    )
    app[MESH_WORKER] = worker
    await worker.start()
    try:
        yield
    finally:
        await worker.stop()


async def command_bus_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    keys = KeySpace(settings.amss_redis_prefix)
    replies: ReplyListener | None = None
    local: CommandExecutor | None = None
    if settings.amss_mesh:
        replies = ReplyListener(app[REDIS], keys.reply_stream(settings.amss_instance_id))
        replies.start()
    else:
        local = CommandExecutor(
            app[PG_POOL],
            command_handlers(settings, app[REDIS]),
            settings.amss_command_timeout.total_seconds(),
            f"api-{settings.amss_instance_id}",
        )
    bus = CommandBus(app[PG_POOL], app[REDIS], keys, settings.amss_partitions, replies, local, app[REDIS_BATCHER])
    app[COMMAND_BUS] = bus
    try:
        yield
    finally:
        await bus.close()
        if replies is not None:
            await replies.stop()
