"""Partition leases: one owner per partition at a time, with an epoch that grows on every acquisition.

Acquire is `SET NX PX` of "worker:epoch"; renew and release compare the value first (Lua), so a
worker can never extend or delete a lease that has passed to someone else.
"""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from amss.app.commands.transport import MeshKeys

_ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return nil end
local epoch = redis.call('INCR', KEYS[2])
local value = ARGV[1] .. ':' .. epoch
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return epoch
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Leases:
    def __init__(self, client: Redis, keys: MeshKeys, worker_id: str, ttl_ms: int) -> None:
        self._keys = keys
        self._worker_id = worker_id
        self.ttl_ms = ttl_ms
        self._acquire: Any = client.register_script(_ACQUIRE)
        self._renew: Any = client.register_script(_RENEW)
        self._release: Any = client.register_script(_RELEASE)

    def _value(self, epoch: int) -> str:
        return f"{self._worker_id}:{epoch}"

    async def acquire(self, partition: int) -> int | None:
        """The new epoch when this worker now holds the partition, None when someone else does."""
        keys = [self._keys.partition_lease(partition), self._keys.partition_epoch(partition)]
        epoch = await self._acquire(keys=keys, args=[self._worker_id, self.ttl_ms])
        return int(epoch) if epoch is not None else None

    async def renew(self, partition: int, epoch: int) -> bool:
        renewed = await self._renew(
            keys=[self._keys.partition_lease(partition)], args=[self._value(epoch), self.ttl_ms]
        )
        return bool(renewed)

    async def release(self, partition: int, epoch: int) -> bool:
        released = await self._release(keys=[self._keys.partition_lease(partition)], args=[self._value(epoch)])
        return bool(released)
