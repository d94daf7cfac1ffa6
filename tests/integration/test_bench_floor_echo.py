"""The floor's echo process answers in the reply shape the mesh's ReplyListener reads: a real
process against the real Redis (a stale shape made every `amss bench mesh` warm-up command fail)."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid

from amss.actors.replies import ReplyListener
from amss.app.commands.outcomes import Succeeded
from amss.bench.floor_echo import REPLY_OUTCOME, ready_key
from amss.infra.redis.client import create_redis
from tests.backends import Backends


async def test_the_floor_echo_replies_in_the_mesh_reply_shape(backends: Backends) -> None:
    stream = f"test-floor-echo-{uuid.uuid4()}"
    reply_stream = f"{stream}:replies"
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "amss.bench.floor_echo",
        stream,
        "echo-group",
        env={**os.environ, "REDIS_URL": backends.redis_url},
    )
    client = create_redis(backends.redis_url)
    listener = ReplyListener(client, reply_stream, block_ms=200)
    try:
        async with asyncio.timeout(30):
            while not await client.exists(ready_key(stream)):
                assert process.returncode is None, "the echo process exited"
                await asyncio.sleep(0.05)
        listener.start()
        command_ids = [uuid.uuid4() for _ in range(3)]
        waiting = [listener.expect(command_id) for command_id in command_ids]
        for command_id in command_ids:
            await client.xadd(stream, {"id": str(command_id), "reply_to": reply_stream})
        async with asyncio.timeout(30):
            outcomes = await asyncio.gather(*waiting)
        assert outcomes == [Succeeded({"ok": True})] * 3
        assert Succeeded({"ok": True}) == REPLY_OUTCOME
    finally:
        await listener.stop()
        process.terminate()
        await process.wait()
        await client.delete(stream, reply_stream, ready_key(stream))
        await client.aclose()
