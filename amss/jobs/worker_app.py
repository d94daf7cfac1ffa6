"""The worker process's composition root: health/metrics endpoints, periodic jobs and the command mesh."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import partial

from aiohttp import web

from amss.actors.wiring import mesh_worker_context
from amss.config import Settings
from amss.jobs.idempotency_purge import PURGE_SCHEDULE, purge_expired_keys
from amss.jobs.maintenance_jobs import job_command_bus, maintenance_jobs
from amss.jobs.runner import Job, JobRunner
from amss.observability.health import add_health_routes
from amss.runtime import METRICS_REGISTRY, PG_POOL, REDIS, REDIS_BATCHER, SETTINGS, base_application


async def jobs_context(app: web.Application) -> AsyncIterator[None]:
    """Runs the periodic jobs while the worker runs (after the pool's context, so the pool exists)."""
    runner = JobRunner(app[METRICS_REGISTRY])
    settings, pool = app[SETTINGS], app[PG_POOL]
    # program task generation and the grounding check submit commands to the aircraft actors
    async with job_command_bus(settings, pool, app[REDIS], app[REDIS_BATCHER]) as bus:
        runner.start(
            [
                Job("idempotency-purge", PURGE_SCHEDULE, partial(purge_expired_keys, pool)),
                *maintenance_jobs(settings, pool, bus),
            ]
        )
        try:
            yield
        finally:
            await runner.stop(settings.shutdown_grace.total_seconds())


def init_worker_app(settings: Settings) -> web.Application:
    app = base_application(settings)
    app.cleanup_ctx.append(jobs_context)
    app.cleanup_ctx.append(mesh_worker_context)
    add_health_routes(app)
    return app
