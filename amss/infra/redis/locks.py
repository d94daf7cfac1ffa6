"""Short-lived Redis locks: a random token per holder, a TTL, and a compare-and-delete release.

A redis-py `Lock` keeps its token in thread-local storage, which every coroutine of the event
loop shares, so one `Lock` object must never be shared between tasks. These locks keep their
token in the context manager itself: each `hold(...)` is its own acquisition, and release runs
a Lua script that deletes the key only while it still holds this holder's token (a holder whose
TTL ran out never frees a lock someone else took since).
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from amss.domain.errors import Conflict
from amss.infra.redis.keys import KeySpace

# KEYS[1] the lock, ARGV[1] the holder's token
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisLock:
    """One lock key; `acquire` answers a token (or None when it stays taken), `release` needs it back."""

    def __init__(self, redis: Redis, key: str, ttl_ms: int) -> None:
        self._redis = redis
        self._key = key
        self._ttl_ms = ttl_ms

    @property
    def key(self) -> str:
        return self._key

    async def acquire(self, wait: float = 0.0, retry_every: float = 0.01) -> str | None:
        token = secrets.token_hex(16)
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            if await self._redis.set(self._key, token, nx=True, px=self._ttl_ms):
                return token
            if asyncio.get_running_loop().time() >= deadline:
                return None
            await asyncio.sleep(retry_every)

    async def release(self, token: str) -> bool:
        """True when this token still held the lock and it was freed."""
        released = await self._redis.eval(_RELEASE, 1, self._key, token)
        return bool(released)


class RedisPartItemLocks:
    """The PartItemLocks port: `{prefix}:lock:part_item:{org_id}:{part_item_id}`."""

    def __init__(self, redis: Redis, keys: KeySpace, ttl_ms: int = 10_000, wait: float = 0.05) -> None:
        self._redis = redis
        self._keys = keys
        self._ttl_ms = ttl_ms
        self._wait = wait

    def key(self, org_id: uuid.UUID, part_item_id: uuid.UUID) -> str:
        return self._keys.lock("part_item", str(org_id), str(part_item_id))

    @asynccontextmanager
    async def hold(self, org_id: uuid.UUID, part_item_id: uuid.UUID) -> AsyncIterator[None]:
        lock = RedisLock(self._redis, self.key(org_id, part_item_id), self._ttl_ms)
        token = await lock.acquire(self._wait)
        if token is None:
            raise Conflict(
                f"part item {part_item_id} is being reserved by another request", {"part_item_id": str(part_item_id)}
            )
        try:
            yield
        finally:
            await lock.release(token)
