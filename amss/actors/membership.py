"""Worker membership: each worker heartbeats into a sorted set scored by its expiry; live workers
are those whose heartbeat has not expired. Leaving removes the entry at once, so the others
rebalance without waiting for it to expire.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from amss.app.commands.transport import MeshKeys

# remove expired members and add/refresh ours, using Redis' clock
_HEARTBEAT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return redis.call('ZRANGEBYSCORE', KEYS[1], now, '+inf')
"""


class Membership:
    def __init__(self, client: Redis, keys: MeshKeys, worker_id: str, ttl_ms: int) -> None:
        self._client = client
        self._key = keys.workers
        self.worker_id = worker_id
        self._ttl_ms = ttl_ms
        self._heartbeat: Any = client.register_script(_HEARTBEAT)

    async def heartbeat(self) -> list[str]:
        """Refresh this worker and return every live worker (this one included), sorted."""
        members = await self._heartbeat(keys=[self._key], args=[self.worker_id, self._ttl_ms])
        return sorted(member.decode() if isinstance(member, bytes) else str(member) for member in members)

    async def leave(self) -> None:
        await self._client.zrem(self._key, self.worker_id)
