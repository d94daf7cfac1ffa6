"""amss-server's composition root: resources, services, rate limits and the command bus, under typed app keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import CollectorRegistry

from amss.actors.bus import CommandBus
from amss.api.rest.app import add_rest_routes, rest_application
from amss.api.rest.metrics import HTTP_METRICS, HttpMetrics
from amss.api.rest.middlewares import TOKEN_SERVICE
from amss.api.rest.rate_limits import RATE_LIMITS, PolicyCache, RateLimits, postgres_policy_loader
from amss.api.rest.services import COMMAND_BUS, COMMAND_LOG, ERROR_TRANSLATOR, SERVICES, Services
from amss.app.clock import Clock, utc_now
from amss.auth.tokens import TokenService, load_key_pair
from amss.bootstrap.commands import handlers, open_command_bus, part_item_locks
from amss.bootstrap.events import event_backlog_refresher
from amss.bootstrap.resources import Resources, open_resources
from amss.bootstrap.services import build_services
from amss.config import Settings
from amss.infra.postgres.command_log import PgCommandLog
from amss.infra.postgres.errors import PgErrorTranslator
from amss.infra.redis.keys import KeySpace
from amss.infra.redis.rate_limit import SlidingWindowLimiter
from amss.runtime import METRICS_REFRESH, METRICS_REGISTRY, PG_POOL, REDIS, SETTINGS


@dataclass(frozen=True)
class Server:
    resources: Resources
    services: Services
    rate_limits: RateLimits
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
        yield Server(resources, build_services(resources, tokens, locks), rate_limits(resources), bus)


def init_server_app(settings: Settings, *, clock: Clock = utc_now, keys: KeySpace | None = None) -> web.Application:
    """The REST application; its resources are built at start-up by one cleanup context and closed at shutdown."""
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
            yield

    app.cleanup_ctx.append(server_context)
    add_rest_routes(app)
    return app
