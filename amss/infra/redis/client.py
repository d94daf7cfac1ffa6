"""Redis client factory (redis.asyncio with the hiredis parser when installed)."""

from __future__ import annotations

import redis.asyncio as redis


def create_redis(url: str) -> redis.Redis:
    """A client with a bounded connection pool; nothing connects until the first command."""
    return redis.Redis.from_url(url, decode_responses=False, health_check_interval=30, max_connections=200)
