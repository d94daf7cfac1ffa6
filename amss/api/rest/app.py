"""The REST application's shape: middlewares, response hooks and routes (its resources come from amss.bootstrap)."""

from __future__ import annotations

from aiohttp import web

from amss.api.rest.cors import add_cors_headers, cors_middleware
from amss.api.rest.encodings import HANDLER_ARGS
from amss.api.rest.handlers import (
    aircraft,
    audit_logs,
    auth,
    commands,
    compliance_items,
    imports,
    maintenance_programs,
    maintenance_tasks,
    organizations,
    users,
    webhooks,
)
from amss.api.rest.handlers import parts as parts_handlers
from amss.api.rest.idempotency import idempotency_middleware
from amss.api.rest.middlewares import (
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
from amss.api.rest.rate_limits import rate_limit_middleware
from amss.api.rest.routing import add_routes
from amss.observability.health import add_health_routes


def rest_application(*, client_max_size: int) -> web.Application:
    """An application with the middlewares in their order; the root sets its keys, then calls `add_rest_routes`."""
    return web.Application(
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
        client_max_size=client_max_size,
        handler_args=HANDLER_ARGS,  # bodies come in as sent; encodings.read_body decodes them
    )


def add_rest_routes(app: web.Application) -> None:
    """The response hooks, health and every route (health reads SETTINGS, so the keys come first)."""
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
            *webhooks.ROUTES,
            *imports.ROUTES,
            *openapi_routes(),
        ],
    )
