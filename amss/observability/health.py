"""Liveness, readiness and metrics endpoints, shared by the server and the worker."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

import asyncpg
import orjson
import redis.asyncio as redis
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from amss.runtime import METRICS_REFRESH, METRICS_REGISTRY, PG_POOL, REDIS, SETTINGS

_PROBE_TIMEOUT = 2.0
log = logging.getLogger(__name__)


async def _probe_postgres(pool: asyncpg.Pool) -> None:
    async with pool.acquire(timeout=_PROBE_TIMEOUT) as conn:
        await conn.fetchval("SELECT 1", timeout=_PROBE_TIMEOUT)


async def failed_dependencies(app: web.Application) -> list[str]:
    """Names of the dependencies that did not answer within the probe timeout."""
    return await failed_dependencies_of(app[PG_POOL], app[REDIS])


async def failed_dependencies_of(pool: asyncpg.Pool, client: redis.Redis) -> list[str]:
    """Names of the dependencies (of Postgres and Redis) that did not answer within the probe timeout;
    the REST readiness route and the gRPC health service both ask this."""
    failed: list[str] = []
    probes: tuple[tuple[str, Awaitable[Any]], ...] = (("postgres", _probe_postgres(pool)), ("redis", client.ping()))
    for name, probe in probes:
        try:
            await asyncio.wait_for(probe, _PROBE_TIMEOUT)
        except Exception as exc:  # any failure to answer means not ready
            log.warning("readiness probe failed", extra={"dependency": name, "error": repr(exc)})
            failed.append(name)
    return failed


async def health(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"}, dumps=lambda v: orjson.dumps(v).decode())


async def ready(request: web.Request) -> web.Response:
    failed = await failed_dependencies(request.app)
    if failed:
        body = {
            "error": f"not ready: {', '.join(failed)} unavailable",
            "code": "UNAVAILABLE",
            "request_id": request.get("request_id", ""),
            "details": {"failed": failed},
        }
        return web.Response(status=503, body=orjson.dumps(body), content_type="application/json")
    return web.json_response({"status": "ready"})


async def metrics(request: web.Request) -> web.Response:
    refresh = request.app.get(METRICS_REFRESH)
    if refresh is not None:
        try:
            await asyncio.wait_for(refresh(), _PROBE_TIMEOUT)
        except Exception as exc:  # the gauges keep their last values; the scrape still answers
            log.warning("metrics refresh failed", extra={"error": repr(exc)})
    payload = generate_latest(request.app[METRICS_REGISTRY])
    return web.Response(body=payload, headers={"Content-Type": CONTENT_TYPE_LATEST})


def add_health_routes(app: web.Application) -> None:
    app.router.add_get("/health", health, name="health")
    app.router.add_get("/ready", ready, name="ready")
    if app[SETTINGS].prometheus_enabled:
        app.router.add_get("/metrics", metrics, name="metrics")
