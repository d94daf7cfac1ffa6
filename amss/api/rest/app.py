"""The REST application's composition root: `init_app(settings)` wires resources, services and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

from aiohttp import web

from amss.actors.wiring import command_bus_context
from amss.api.rest.cors import add_cors_headers, cors_middleware
from amss.api.rest.handlers import (
    aircraft,
    audit_logs,
    auth,
    commands,
    compliance_items,
    maintenance_programs,
    maintenance_tasks,
    organizations,
    users,
)
from amss.api.rest.handlers import parts as parts_handlers
from amss.api.rest.idempotency import idempotency_middleware
from amss.api.rest.metrics import HTTP_METRICS, HttpMetrics
from amss.api.rest.middlewares import (
    TOKEN_SERVICE,
    access_log_middleware,
    add_response_headers,
    authentication_middleware,
    authorization_middleware,
    error_middleware,
    request_id_middleware,
    tenancy_middleware,
    text_input_middleware,
)
from amss.api.rest.openapi import openapi_routes
from amss.api.rest.rate_limits import rate_limit_context, rate_limit_middleware
from amss.api.rest.routing import add_routes
from amss.api.rest.services import SERVICES, Services
from amss.app.aircraft import AircraftService
from amss.app.audit_logs import AuditLogService
from amss.app.compliance import ComplianceService
from amss.app.identity import IdentityService
from amss.app.organizations import OrganizationService
from amss.app.parts import PartsService
from amss.app.ports import UnitOfWork
from amss.app.programs import ProgramService
from amss.app.tasks import TaskService
from amss.app.users import UserService
from amss.auth.adapters import BcryptPasswords, JwtAccessTokens, OpaqueRefreshTokens
from amss.auth.rbac import grants_everything_of
from amss.auth.tokens import TokenService, load_key_pair
from amss.config import Settings
from amss.infra.postgres.uow import PostgresUnitOfWork
from amss.infra.redis.keys import KeySpace
from amss.infra.redis.locks import RedisPartItemLocks
from amss.observability.health import add_health_routes
from amss.runtime import METRICS_REGISTRY, PG_POOL, REDIS, SETTINGS, base_application


def utc_now() -> datetime:
    return datetime.now(UTC)


async def services_context(app: web.Application) -> AsyncIterator[None]:
    """Builds the application services once the pool exists (this context runs after the pool's)."""
    settings = app[SETTINGS]
    pool = app[PG_POOL]
    passwords = BcryptPasswords(settings.bcrypt_rounds)

    def unit_of_work() -> UnitOfWork:
        return PostgresUnitOfWork(pool)

    aircraft_service = AircraftService(unit_of_work, utc_now, settings.amss_grounding_lead_time)
    app[SERVICES] = Services(
        aircraft=aircraft_service,
        audit_logs=AuditLogService(unit_of_work),
        identity=IdentityService(
            unit_of_work,
            JwtAccessTokens(app[TOKEN_SERVICE]),
            OpaqueRefreshTokens(),
            passwords,
            settings.refresh_token_ttl,
            utc_now,
            refresh_reuse_grace=settings.refresh_reuse_grace,
        ),
        organizations=OrganizationService(unit_of_work),
        parts=PartsService(unit_of_work, utc_now, RedisPartItemLocks(app[REDIS], KeySpace(settings.amss_redis_prefix))),
        users=UserService(unit_of_work, passwords, utc_now, lambda old, new: not grants_everything_of(new, old)),
        tasks=TaskService(unit_of_work, utc_now, aircraft_service),
        compliance=ComplianceService(unit_of_work, utc_now),
        programs=ProgramService(unit_of_work, utc_now),
    )
    yield


def init_app(settings: Settings) -> web.Application:
    app = base_application(
        settings,
        middlewares=[
            request_id_middleware,
            cors_middleware,
            access_log_middleware,
            error_middleware,
            authentication_middleware,
            tenancy_middleware,
            authorization_middleware,
            text_input_middleware,
            rate_limit_middleware,
            idempotency_middleware,
        ],
    )
    app[HTTP_METRICS] = HttpMetrics.register(app[METRICS_REGISTRY])
    app[TOKEN_SERVICE] = TokenService(load_key_pair(settings), settings.jwt_issuer, settings.access_token_ttl)
    app.cleanup_ctx.append(services_context)
    app.cleanup_ctx.append(rate_limit_context)
    app.cleanup_ctx.append(command_bus_context)
    app.on_response_prepare.append(add_response_headers)
    app.on_response_prepare.append(add_cors_headers)
    add_health_routes(app)
    add_routes(
        app,
        [
            *aircraft.ROUTES,
            *audit_logs.ROUTES,
            *auth.ROUTES,
            *organizations.ROUTES,
            *parts_handlers.ROUTES,
            *users.ROUTES,
            *commands.ROUTES,
            *maintenance_tasks.ROUTES,
            *maintenance_programs.ROUTES,
            *compliance_items.ROUTES,
            *openapi_routes(),
        ],
    )
    return app
