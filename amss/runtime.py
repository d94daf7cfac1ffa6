"""The typed app keys both processes' aiohttp apps carry; only the composition root (amss.bootstrap) sets them."""

from __future__ import annotations

import asyncpg
import redis.asyncio as redis
from aiohttp import web
from prometheus_client import CollectorRegistry

from amss.config import Settings
from amss.infra.redis.batching import PipelineBatcher

SETTINGS = web.AppKey("settings", Settings)
PG_POOL = web.AppKey("pg_pool", asyncpg.Pool)
REDIS = web.AppKey("redis", redis.Redis)
# the hot paths' Redis commands (rate limits, command XADDs, replies), coalesced per loop turn
REDIS_BATCHER = web.AppKey("redis_batcher", PipelineBatcher)
METRICS_REGISTRY = web.AppKey("metrics_registry", CollectorRegistry)
