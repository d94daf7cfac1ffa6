"""The sliding-window-log limiter against a real Redis: exact under concurrency, nothing for rejections."""

from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as redis

from amss.infra.redis.batching import PipelineBatcher
from amss.infra.redis.keys import KeySpace
from amss.infra.redis.rate_limit import SlidingWindowLimiter


@pytest.fixture(params=["batched", "one round trip per hit"])
def limiter(request: pytest.FixtureRequest, redis_client: redis.Redis, key_space: KeySpace) -> SlidingWindowLimiter:
    batcher = PipelineBatcher(redis_client) if request.param == "batched" else None
    return SlidingWindowLimiter(redis_client, key_space, batcher)


@pytest.fixture
def parts() -> tuple[str, ...]:
    return ("test", uuid.uuid4().hex)


async def server_time_us(client: redis.Redis) -> int:
    seconds, microseconds = await client.time()
    return int(seconds) * 1_000_000 + int(microseconds)


async def test_concurrent_hits_admit_exactly_the_limit(
    limiter: SlidingWindowLimiter, parts: tuple[str, ...], redis_client: redis.Redis, key_space: KeySpace
) -> None:
    decisions = await asyncio.gather(*(limiter.hit(parts, 10) for _ in range(50)))
    assert sum(decision.allowed for decision in decisions) == 10
    assert sorted(decision.remaining for decision in decisions if decision.allowed) == list(range(10))
    assert await redis_client.zcard(key_space.rate_limit(*parts)) == 10


async def test_remaining_counts_down_then_rejects(limiter: SlidingWindowLimiter, parts: tuple[str, ...]) -> None:
    remaining = []
    for _ in range(5):
        decision = await limiter.hit(parts, 5)
        assert decision.allowed
        assert decision.retry_after_seconds == 0
        assert decision.limit == 5
        assert 59 <= decision.reset_seconds <= 60
        remaining.append(decision.remaining)
    assert remaining == [4, 3, 2, 1, 0]
    rejected = await limiter.hit(parts, 5)
    assert not rejected.allowed
    assert rejected.remaining == 0
    assert 1 <= rejected.retry_after_seconds <= 60
    assert rejected.reset_seconds >= rejected.retry_after_seconds


async def test_rejected_hits_are_not_recorded(
    limiter: SlidingWindowLimiter, parts: tuple[str, ...], redis_client: redis.Redis, key_space: KeySpace
) -> None:
    for _ in range(3):
        assert (await limiter.hit(parts, 3)).allowed
    key = key_space.rate_limit(*parts)
    ttl_before = await redis_client.pttl(key)
    for _ in range(20):
        assert not (await limiter.hit(parts, 3)).allowed
    assert await redis_client.zcard(key) == 3
    assert 0 < await redis_client.pttl(key) <= ttl_before <= 60_000


async def test_short_window_admits_again_once_it_has_passed(
    limiter: SlidingWindowLimiter, parts: tuple[str, ...]
) -> None:
    assert (await limiter.hit(parts, 2, window_seconds=1)).allowed
    assert (await limiter.hit(parts, 2, window_seconds=1)).allowed
    rejected = await limiter.hit(parts, 2, window_seconds=1)
    assert not rejected.allowed
    assert rejected.retry_after_seconds == 1
    await asyncio.sleep(1.05)
    assert (await limiter.hit(parts, 2, window_seconds=1)).allowed


async def test_no_more_than_the_limit_in_any_window_across_a_boundary(
    limiter: SlidingWindowLimiter, parts: tuple[str, ...]
) -> None:
    # a fixed window would admit another 3 once its boundary passed; a sliding one waits a full window
    for _ in range(3):
        assert (await limiter.hit(parts, 3, window_seconds=1)).allowed
    await asyncio.sleep(0.6)
    assert not (await limiter.hit(parts, 3, window_seconds=1)).allowed
    await asyncio.sleep(0.5)
    assert (await limiter.hit(parts, 3, window_seconds=1)).allowed


async def test_entries_older_than_the_window_are_trimmed(
    limiter: SlidingWindowLimiter, parts: tuple[str, ...], redis_client: redis.Redis, key_space: KeySpace
) -> None:
    key = key_space.rate_limit(*parts)
    now = await server_time_us(redis_client)
    await redis_client.zadd(key, {f"old-{i}": now - 61_000_000 - i for i in range(5)})
    decision = await limiter.hit(parts, 5)
    assert decision.allowed
    assert decision.remaining == 4
    assert await redis_client.zcard(key) == 1


async def test_lowered_limit_waits_until_enough_hits_leave_the_window(
    limiter: SlidingWindowLimiter, parts: tuple[str, ...], redis_client: redis.Redis, key_space: KeySpace
) -> None:
    key = key_space.rate_limit(*parts)
    now = await server_time_us(redis_client)
    # four hits admitted 50, 40, 30 and 20 seconds ago under a higher limit
    await redis_client.zadd(key, {f"earlier-{age}": now - age * 1_000_000 for age in (50, 40, 30, 20)})
    lowered = await limiter.hit(parts, 2)
    assert not lowered.allowed
    # admitting again needs three of the four gone: the one from 30 s ago leaves in about 30 s
    assert 29 <= lowered.retry_after_seconds <= 31
    same = await limiter.hit(parts, 4)
    assert not same.allowed
    assert 9 <= same.retry_after_seconds <= 11


async def test_keys_carry_the_key_space_prefix(
    limiter: SlidingWindowLimiter, parts: tuple[str, ...], redis_client: redis.Redis, key_space: KeySpace
) -> None:
    await limiter.hit(parts, 1)
    keys = [key.decode() async for key in redis_client.scan_iter(match=f"*{parts[1]}*")]
    assert keys == [f"{key_space.prefix}:rl:test:{parts[1]}"]


async def test_limits_of_different_keys_are_independent(limiter: SlidingWindowLimiter) -> None:
    first, second = ("test", uuid.uuid4().hex), ("test", uuid.uuid4().hex)
    assert (await limiter.hit(first, 1)).allowed
    assert not (await limiter.hit(first, 1)).allowed
    assert (await limiter.hit(second, 1)).allowed


@pytest.mark.parametrize(("limit", "window_seconds"), [(0, 60), (5, 0)])
async def test_nonsense_limits_are_refused(
    limiter: SlidingWindowLimiter, parts: tuple[str, ...], limit: int, window_seconds: int
) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        await limiter.hit(parts, limit, window_seconds)
