"""The worker process's composition root: its health/metrics endpoints and background jobs."""

from __future__ import annotations

from aiohttp import web

from amss.config import Settings
from amss.observability.health import add_health_routes
from amss.runtime import base_application


def init_worker_app(settings: Settings) -> web.Application:
    app = base_application(settings)
    add_health_routes(app)
    return app
