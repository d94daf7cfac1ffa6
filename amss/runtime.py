"""The typed app keys both processes' aiohttp apps carry; only the composition root (amss.bootstrap) sets them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg
import redis.asyncio as redis
from aiohttp import web
from prometheus_client import CollectorRegistry

from amss.config import Settings

SETTINGS = web.AppKey("settings", Settings)
PG_POOL = web.AppKey("pg_pool", asyncpg.Pool)
REDIS = web.AppKey("redis", redis.Redis)
METRICS_REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)
# refreshed just before /metrics answers (gauges read from Postgres: the event backlog); absent means none
MetricsRefresh = Callable[[], Awaitable[None]]
METRICS_REFRESH: web.AppKey[MetricsRefresh] = web.AppKey("metrics_refresh")
# the port amss-server's gRPC front listens on (set when it serves gRPC)
GRPC_PORT = web.AppKey("grpc_port", int)
