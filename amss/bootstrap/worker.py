"""amss-worker's composition root: resources, the jobs' command bus, the periodic jobs and the mesh worker."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from functools import partial

from aiohttp import web
from prometheus_client import CollectorRegistry

from amss.actors.bus import CommandBus
from amss.actors.executor import CommandHandler
from amss.actors.metrics import MeshMetrics
from amss.actors.node import MeshWorker
from amss.app.clock import Clock, utc_now
from amss.app.commands.bus import CommandSender
from amss.app.imports.applying import ApplyDeps
from amss.app.imports.processor import ImportJobConfig, ImportProcessor
from amss.app.ports import UnitOfWork
from amss.app.programs.generation import GENERATOR_JOB as PROGRAM_GENERATOR_JOB
from amss.auth.tokens import TokenService, load_key_pair
from amss.bootstrap.commands import handlers, mesh_config, open_command_bus, part_item_locks
from amss.bootstrap.events import event_backlog_refresher, open_event_pipeline
from amss.bootstrap.resources import Resources, open_resources
from amss.config import Settings
from amss.infra.grpc.program_client import GrpcProgramGenerator
from amss.infra.postgres.command_log import PgCommandLog
from amss.infra.postgres.import_row_uow import row_batches
from amss.infra.postgres.imports_repo import PgImportJobStore
from amss.infra.postgres.jobs_repo import PgExpiredKeys, PgJobRuns, PgMaintenanceCandidates
from amss.infra.postgres.uow import PostgresUnitOfWork
from amss.infra.redis.import_jobs import RedisImportJobReader, RedisImportQueue
from amss.infra.redis.keys import KeySpace
from amss.jobs.events.pipeline import EventPipeline
from amss.jobs.idempotency_purge import PURGE_JOB, PURGE_SCHEDULE, purge_expired_keys
from amss.jobs.imports import ImportLoopConfig, ImportWorker
from amss.jobs.maintenance_jobs import maintenance_jobs
from amss.jobs.runner import Job, JobRunner
from amss.observability.health import add_health_routes
from amss.runtime import METRICS_REFRESH, METRICS_REGISTRY, PG_POOL, REDIS, SETTINGS


@dataclass(frozen=True)
class Worker:
    resources: Resources
    job_bus: CommandBus
    jobs: JobRunner
    mesh: MeshWorker
    imports: ImportWorker
    events: EventPipeline | None


@asynccontextmanager
async def job_command_bus(resources: Resources, registry: dict[str, CommandHandler]) -> AsyncIterator[CommandBus]:
    """The bus the worker's jobs submit through: its own reply stream (mesh on) or a local executor (mesh off)."""
    async with open_command_bus(
        resources, registry, reply_to=f"job-{resources.settings.worker_id}", executor_name="jobs-local"
    ) as bus:
        yield bus


def program_generator(settings: Settings, clock: Clock) -> GrpcProgramGenerator:
    """amss-server's ProgramService on SERVER_GRPC_ADDR, called with a 60 s service credential of the generator
    job for each organization (signed with the JWT key the server verifies)."""
    tokens = TokenService(load_key_pair(settings), settings.jwt_issuer, settings.access_token_ttl)

    def credential(org_id: uuid.UUID) -> str:
        return tokens.issue_service(PROGRAM_GENERATOR_JOB, org_id, clock())

    return GrpcProgramGenerator(settings.server_grpc_addr, credential)


def import_worker(resources: Resources, bus: CommandSender) -> ImportWorker:
    """The import loop: its job store and stream reader, and the services a row is applied through."""
    settings, pool = resources.settings, resources.pool

    def unit_of_work() -> UnitOfWork:
        return PostgresUnitOfWork(pool)

    store = PgImportJobStore(pool)
    reader = RedisImportJobReader(resources.redis, resources.keys, settings.worker_id)
    deps = ApplyDeps(
        store=store,
        row_batches=row_batches(pool),
        uow=unit_of_work,
        commands=bus,
        clock=resources.clock,
        grounding_lead_time=settings.amss_grounding_lead_time,
        locks=part_item_locks(resources),
        concurrency=settings.amss_import_row_concurrency,
        command_wait=settings.amss_command_wait.total_seconds() or 5.0,
    )
    config = ImportJobConfig(
        worker_id=settings.worker_id,
        lease=settings.amss_import_lease_ttl,
        max_attempts=settings.amss_import_max_attempts,
        batch_rows=settings.amss_import_batch_rows,
    )
    loop_config = ImportLoopConfig(
        lease=settings.amss_import_lease_ttl,
        redrive_after=settings.amss_import_redrive_after,
        concurrency=settings.amss_import_concurrency,
    )
    queue = RedisImportQueue(resources.redis, resources.keys)
    return ImportWorker(loop_config, ImportProcessor(config, deps, reader), reader, store, queue)


@asynccontextmanager
async def open_worker(
    settings: Settings, metrics: CollectorRegistry, *, clock: Clock = utc_now, keys: KeySpace | None = None
) -> AsyncIterator[Worker]:
    """Postgres, Redis, the jobs' bus, the jobs, the mesh worker; stopped in reverse: the mesh first, the pool last."""
    async with AsyncExitStack() as stack:
        resources = await stack.enter_async_context(open_resources(settings, clock=clock, keys=keys))
        registry = handlers(resources)
        # program task generation and the grounding check submit commands to the aircraft actors
        bus = await stack.enter_async_context(job_command_bus(resources, registry))
        generator = program_generator(settings, resources.clock)
        stack.push_async_callback(generator.close)
        # each job's last success is read at start: a job due since then runs at once
        runner = JobRunner(metrics, PgJobRuns(resources.pool), resources.clock)
        runner.start(
            [
                Job(PURGE_JOB, PURGE_SCHEDULE, partial(purge_expired_keys, PgExpiredKeys(resources.pool))),
                *maintenance_jobs(settings, PgMaintenanceCandidates(resources.pool), bus, resources.clock, generator),
            ]
        )
        stack.push_async_callback(runner.stop, settings.shutdown_grace.total_seconds())
        mesh = MeshWorker(
            mesh_config(settings),
            PgCommandLog(resources.pool),
            resources.redis,
            resources.keys,
            registry,
            MeshMetrics.register(metrics),
            resources.batcher,
        )
        await mesh.start()
        stack.push_async_callback(mesh.stop)
        imports = import_worker(resources, bus)
        imports.start()
        stack.push_async_callback(imports.stop)  # before the mesh and the bus: its rows' commands finish first
        events = None
        if settings.amss_events:
            # outbox -> {prefix}.events -> webhook deliveries -> receivers; stopped before the mesh
            events = await stack.enter_async_context(open_event_pipeline(resources, metrics))
        yield Worker(resources, bus, runner, mesh, imports, events)


def init_worker_app(settings: Settings, *, clock: Clock = utc_now, keys: KeySpace | None = None) -> web.Application:
    """The worker's health and metrics app; its resources are built at start-up by one cleanup context."""
    app = web.Application(client_max_size=settings.max_body_bytes)
    metrics = CollectorRegistry()
    app[SETTINGS] = settings
    app[METRICS_REGISTRY] = metrics

    async def worker_context(app: web.Application) -> AsyncIterator[None]:
        async with open_worker(settings, metrics, clock=clock, keys=keys) as worker:
            resources = worker.resources
            app[PG_POOL], app[REDIS] = resources.pool, resources.redis
            app[METRICS_REFRESH] = event_backlog_refresher(resources, metrics)
            yield

    app.cleanup_ctx.append(worker_context)
    add_health_routes(app)
    return app
