"""The pipeline batcher against a real Redis: commands of one loop turn share a round trip, each caller
gets its own reply or error, a group travels in order, and an unreachable Redis fails every caller."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as redis
from redis.exceptions import ResponseError

from amss.infra.redis.batching import PipelineBatcher
from amss.infra.redis.keys import KeySpace
from amss.infra.redis.rate_limit import SlidingWindowLimiter
from tests.mesh_support import private_redis


class CountingClient:
    """The real client, counting the pipelines (round trips) the batcher sends through it."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client
        self.connection_pool = client.connection_pool
        self.pipelines = 0

    def pipeline(self, transaction: bool = True) -> Any:
        self.pipelines += 1
        return self.client.pipeline(transaction=transaction)


def key(key_space: KeySpace, name: str) -> str:
    return f"{key_space.prefix}:batching:{name}:{uuid.uuid4().hex}"


async def test_commands_of_one_loop_turn_share_one_round_trip_and_each_caller_gets_its_reply(
    redis_client: redis.Redis, key_space: KeySpace
) -> None:
    counting = CountingClient(redis_client)
    batcher = PipelineBatcher(counting)  # type: ignore[arg-type]
    counter = key(key_space, "counter")
    replies = await asyncio.gather(*(batcher.call("INCR", counter) for _ in range(25)))
    assert sorted(replies) == list(range(1, 26))
    assert counting.pipelines == 1
    # the next turn is a round trip of its own
    assert await batcher.call("GET", counter) == b"25"
    assert counting.pipelines == 2


async def test_a_failing_command_fails_only_its_caller_and_a_group_keeps_its_order(
    redis_client: redis.Redis, key_space: KeySpace
) -> None:
    batcher = PipelineBatcher(redis_client)
    text, items = key(key_space, "text"), key(key_space, "list")
    await redis_client.set(text, "not a list")
    good, bad, grouped = await asyncio.gather(
        batcher.call("SET", key(key_space, "ok"), "1"),
        batcher.call("LPUSH", text, "x"),
        batcher.group([("RPUSH", items, "a"), ("RPUSH", items, "b"), ("LRANGE", items, 0, -1)]),
        return_exceptions=True,
    )
    assert good is True
    assert isinstance(bad, ResponseError) and "WRONGTYPE" in str(bad)
    assert grouped == [1, 2, [b"a", b"b"]]


async def test_an_unreachable_redis_fails_every_caller_of_the_flush(tmp_path: Path) -> None:
    async with private_redis(tmp_path) as server:
        client = redis.Redis.from_url(server.url, socket_timeout=2, socket_connect_timeout=2)
        batcher = PipelineBatcher(client)
        assert await batcher.call("PING") is True
        await server.kill()
        outcomes = await asyncio.gather(*(batcher.call("PING") for _ in range(3)), return_exceptions=True)
        await batcher.close()
        await client.aclose()
    assert all(isinstance(outcome, redis.ConnectionError | OSError) for outcome in outcomes), outcomes


async def test_the_batched_limiter_loads_its_script_again_after_redis_forgot_it(tmp_path: Path) -> None:
    async with private_redis(tmp_path) as server:
        client = redis.Redis.from_url(server.url)
        limiter = SlidingWindowLimiter(client, KeySpace("t"), PipelineBatcher(client))
        assert (await limiter.hit(("org", "a"), 2)).allowed
        await client.script_flush()
        decisions = [await limiter.hit(("org", "a"), 2) for _ in range(2)]
        await client.aclose()
    assert [decision.allowed for decision in decisions] == [True, False]


@pytest.mark.parametrize("cancel_first", [True, False])
async def test_a_cancelled_caller_does_not_disturb_the_others(
    redis_client: redis.Redis, key_space: KeySpace, cancel_first: bool
) -> None:
    batcher = PipelineBatcher(redis_client)
    counter = key(key_space, "cancelled")
    calls = [asyncio.create_task(batcher.call("INCR", counter)) for _ in range(3)]
    await asyncio.sleep(0)  # each call has queued its command and waits for the flush
    (calls[0] if cancel_first else calls[2]).cancel()
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert sum(isinstance(outcome, asyncio.CancelledError) for outcome in outcomes) == 1
    assert sorted(outcome for outcome in outcomes if isinstance(outcome, int)) in ([1, 2], [1, 3], [2, 3])
    assert await redis_client.get(counter) == b"3", "a cancelled caller's command was queued: it is still sent"


async def test_an_argument_redis_cannot_take_fails_only_its_caller(
    redis_client: redis.Redis, key_space: KeySpace
) -> None:
    batcher = PipelineBatcher(redis_client)
    good = key(key_space, "good")
    outcomes = await asyncio.gather(
        batcher.call("SET", good, "1"), batcher.call("SET", key(key_space, "bad"), None), return_exceptions=True
    )
    assert outcomes[0] is True
    assert isinstance(outcomes[1], redis.DataError)
    assert await redis_client.get(good) == b"1"
