"""An atomic sliding-window-log rate limiter: one Lua script on Redis, timed by Redis's own clock.

Each key holds a sorted set of the admitted hits of the last window, scored by admission time
in microseconds. The script trims what has left the window, counts, and records the hit only
when under the limit, so at most `limit` hits are admitted in *any* window of that length (no
burst of twice the limit at a fixed-window boundary) and rejected hits cost nothing. Every
process reads the time from Redis (`TIME`), so clock skew between servers cannot widen a window.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Final

import redis.exceptions
from redis.asyncio import Redis
from redis.exceptions import NoScriptError

from amss.app.rate_limits import RateDecision, RateLimiterUnavailable
from amss.infra.redis.batching import PipelineBatcher
from amss.infra.redis.keys import KeySpace

__all__ = ["RateDecision", "SlidingWindowLimiter", "decision_from_reply"]

_MICROSECONDS: Final = 1_000_000
# what an unreachable Redis raises (OSError: a refused or reset connection)
_UNREACHABLE: Final = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)

# KEYS[1] the log; ARGV[1] limit; ARGV[2] window (µs); ARGV[3] a random suffix keeping members unique.
# Returns {allowed (1|0), remaining, retry after (µs), reset (µs)}.
_SLIDING_WINDOW_LOG: Final = """
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
    redis.call('ZADD', KEYS[1], now, string.format('%s.%06d-%s', clock[1], tonumber(clock[2]), ARGV[3]))
    redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
    return {1, limit - count - 1, 0, tonumber(oldest[2]) + window - now}
end
-- a lowered limit can leave more than `limit` hits in the log: the next admission waits until
-- only limit - 1 remain, i.e. until the (count - limit + 1)-th oldest hit leaves the window
local blocking = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
local retry = tonumber(blocking[2]) + window - now
return {0, 0, retry, retry}
"""


def _whole_seconds(microseconds: int) -> int:
    return max(0, -(-microseconds // _MICROSECONDS))


def decision_from_reply(reply: Sequence[int], limit: int) -> RateDecision:
    """The script's `{allowed, remaining, retry µs, reset µs}` as whole seconds, rounded up."""
    allowed, remaining, retry_microseconds, reset_microseconds = (int(value) for value in reply)
    if allowed:
        return RateDecision(True, limit, max(0, remaining), _whole_seconds(reset_microseconds), 0)
    retry_after = max(1, _whole_seconds(retry_microseconds))
    return RateDecision(False, limit, 0, max(retry_after, _whole_seconds(reset_microseconds)), retry_after)


class SlidingWindowLimiter:
    """Runs the script by its SHA1 (loading it once Redis says it does not know it), through a batcher
    when one is given, so that concurrent checks share a round trip."""

    def __init__(self, redis: Redis, keys: KeySpace, batcher: PipelineBatcher | None = None) -> None:
        self._redis = redis
        self._keys = keys
        self._batcher = batcher
        self._script = redis.register_script(_SLIDING_WINDOW_LOG)

    async def hit(self, key_parts: tuple[str, ...], limit: int, window_seconds: int = 60) -> RateDecision:
        """Admit and record one hit on `key_parts` if fewer than `limit` were admitted in the last window.

        Raises RateLimiterUnavailable (the Redis error chained) when Redis cannot be reached.
        """
        try:
            return await self._hit(key_parts, limit, window_seconds)
        except _UNREACHABLE as exc:
            raise RateLimiterUnavailable(str(exc)) from exc

    async def _hit(self, key_parts: tuple[str, ...], limit: int, window_seconds: int) -> RateDecision:
        if not key_parts:
            raise ValueError("a rate limit key needs at least one part")
        if limit < 1 or window_seconds < 1:
            raise ValueError("limit and window_seconds must be at least 1")
        key = self._keys.rate_limit(*key_parts)
        args = (limit, window_seconds * _MICROSECONDS, secrets.token_hex(8))
        if self._batcher is None:
            reply = await self._script(keys=[key], args=args)
        else:
            try:
                reply = await self._batcher.call("EVALSHA", self._script.sha, 1, key, *args)
            except NoScriptError:  # a restarted or flushed Redis: load it and try once more
                await self._redis.script_load(_SLIDING_WINDOW_LOG)
                reply = await self._batcher.call("EVALSHA", self._script.sha, 1, key, *args)
        return decision_from_reply(reply, limit)
