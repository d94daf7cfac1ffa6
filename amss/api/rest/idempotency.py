"""PLACEHOLDER until idempotency lands: passes every request through."""

from __future__ import annotations

from aiohttp import web

from amss.api.rest.routing import Handler


@web.middleware
async def idempotency_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    return await handler(request)
