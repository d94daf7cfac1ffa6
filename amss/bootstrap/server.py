"""amss-server's composition root: resources, services, rate limits and the command bus, under typed app keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web
from prometheus_client import CollectorRegistry

from amss.actors.bus import CommandBus
from amss.api.rest.app import add_rest_routes, rest_application
from amss.api.rest.idempotency import IDEMPOTENCY
from amss.api.rest.metrics import HTTP_METRICS, HttpMetrics
from amss.api.rest.middlewares import TOKEN_SERVICE
from amss.api.rest.rate_limits import RATE_LIMITS
from amss.api.rest.services import COMMAND_BUS, COMMAND_LOG, ERROR_TRANSLATOR, SERVICES, Services
from amss.app.clock import Clock, utc_now
from amss.app.idempotency import Idempotency
from amss.app.rate_limits import PolicyCache, RateLimits
from amss.auth.tokens import TokenService, load_key_pair
from amss.bootstrap.commands import handlers, open_command_bus, part_item_locks
from amss.bootstrap.events import event_backlog_refresher
from amss.bootstrap.resources import Resources, open_resources
from amss.bootstrap.services import build_services
from amss.config import Settings
from amss.infra.postgres.command_log import PgCommandLog
from amss.infra.postgres.errors import PgErrorTranslator
from amss.infra.postgres.idempotency_repo import PgIdempotencyStore
from amss.infra.postgres.organizations_repo import postgres_policy_loader
from amss.infra.redis.keys import KeySpace
from amss.infra.redis.rate_limit import SlidingWindowLimiter
from amss.runtime import GRPC_PORT, METRICS_REFRESH, METRICS_REGISTRY, PG_POOL, REDIS, SETTINGS

if TYPE_CHECKING:
    from amss.api.grpc.server import GrpcServer


@dataclass(frozen=True)
class Server:
    resources: Resources
    services: Services
    rate_limits: RateLimits
    idempotency: Idempotency
    bus: CommandBus


def rate_limits(resources: Resources) -> RateLimits:
    settings = resources.settings
    return RateLimits(
        limiter=SlidingWindowLimiter(resources.redis, resources.keys, resources.batcher),
        policies=PolicyCache(postgres_policy_loader(resources.pool)),
        login_per_ip=settings.login_rate_limit_per_ip,
        login_per_email=settings.login_rate_limit_per_email,
    )


@asynccontextmanager
async def open_server(
    settings: Settings, tokens: TokenService, *, clock: Clock = utc_now, keys: KeySpace | None = None
) -> AsyncIterator[Server]:
    """Postgres and Redis first, then what uses them; the bus (and its reply listener) closes before they do."""
    async with AsyncExitStack() as stack:
        resources = await stack.enter_async_context(open_resources(settings, clock=clock, keys=keys))
        locks = part_item_locks(resources)
        bus = await stack.enter_async_context(
            open_command_bus(
                resources,
                handlers(resources, locks),
                reply_to=settings.amss_instance_id,
                executor_name=f"api-{settings.amss_instance_id}",
            )
        )
        services = build_services(resources, tokens, locks)
        idempotency = Idempotency(PgIdempotencyStore(resources.pool))
        yield Server(resources, services, rate_limits(resources), idempotency, bus)


def init_server_app(
    settings: Settings, *, clock: Clock = utc_now, keys: KeySpace | None = None, grpc_address: str | None = None
) -> web.Application:
    """The REST application; its resources are built at start-up by one cleanup context and closed at shutdown.

    With `grpc_address` ("host:port"; amss-server passes GRPC_ADDR) the gRPC front starts with it over the
    same resources, and stops first at shutdown: health NOT_SERVING, calls in flight given SHUTDOWN_GRACE.
    """
    app = rest_application(client_max_size=settings.max_body_bytes)
    metrics = CollectorRegistry()
    tokens = TokenService(load_key_pair(settings), settings.jwt_issuer, settings.access_token_ttl)
    app[SETTINGS] = settings
    app[METRICS_REGISTRY] = metrics
    app[HTTP_METRICS] = HttpMetrics.register(metrics)
    app[TOKEN_SERVICE] = tokens
    app[ERROR_TRANSLATOR] = PgErrorTranslator()

    async def server_context(app: web.Application) -> AsyncIterator[None]:
        async with open_server(settings, tokens, clock=clock, keys=keys) as server:
            resources = server.resources
            app[PG_POOL], app[REDIS] = resources.pool, resources.redis
            app[SERVICES], app[RATE_LIMITS], app[COMMAND_BUS] = server.services, server.rate_limits, server.bus
            app[COMMAND_LOG] = PgCommandLog(resources.pool)
            app[METRICS_REFRESH] = event_backlog_refresher(resources, metrics)
            app[IDEMPOTENCY] = server.idempotency
            if grpc_address is not None:
                from amss.bootstrap.grpc import build_grpc_server

                front = build_grpc_server(server, tokens, metrics)
                app[GRPC_PORT] = front.bind(grpc_address)
                await front.start()
                grpc_front.append(front)
            yield

    async def stop_grpc(_: web.Application) -> None:
        # on_shutdown runs before the cleanup context closes the bus and the pool the calls use
        for front in grpc_front:
            await front.stop(settings.shutdown_grace.total_seconds())
        grpc_front.clear()

    grpc_front: list[GrpcServer] = []
    app.cleanup_ctx.append(server_context)
    app.on_shutdown.append(stop_grpc)
    add_rest_routes(app)
    return app
