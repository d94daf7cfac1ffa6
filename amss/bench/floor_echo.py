"""The floor's bare Redis hop, as a separate process: `REDIS_URL=… python -m amss.bench.floor_echo STREAM GROUP`.

It reads STREAM with XREADGROUP (consumer group GROUP) and, for every entry, writes a reply to the
stream the entry names in its `reply_to` field (the shape `amss.actors.replies` uses, so the bench
reads it with the mesh's own ReplyListener), then XACKs and XDELs the entries as the mesh does.
One pipeline per read batch: the least Redis work that moves a command there and back. It stops on
SIGTERM or SIGINT, and (on Linux) when its parent dies, through the bench's PR_SET_PDEATHSIG.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from typing import Any

import uvloop
from redis.exceptions import ResponseError

from amss.actors.replies import REPLY_STREAM_MAXLEN, REPLY_STREAM_TTL_SECONDS, encode_reply
from amss.app.commands.outcomes import Succeeded
from amss.infra.redis.client import create_redis

CONSUMER = "echo"
REPLY_OUTCOME = Succeeded({"ok": True})


def ready_key(stream: str) -> str:
    """Set once the group exists: entries added from then on are answered."""
    return f"{stream}:ready"


async def echo(url: str, stream: str, group: str, block_ms: int = 1000) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    client = create_redis(url)
    try:
        try:
            await client.xgroup_create(stream, group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        await client.set(ready_key(stream), b"1", ex=3600)
        while not stop.is_set():
            response: Any = await client.xreadgroup(group, CONSUMER, {stream: ">"}, count=500, block=block_ms)
            if not response:
                continue
            entries = response[0][1]
            ids = [entry_id for entry_id, _ in entries]
            async with client.pipeline(transaction=False) as pipe:
                reply_streams: set[bytes] = set()
                for _, fields in entries:
                    reply_to = fields[b"reply_to"]
                    reply_streams.add(reply_to)
                    reply = encode_reply(uuid.UUID(fields[b"id"].decode()), REPLY_OUTCOME)
                    pipe.xadd(reply_to, reply, maxlen=REPLY_STREAM_MAXLEN, approximate=True)  # type: ignore[arg-type]
                for reply_to in reply_streams:
                    pipe.expire(reply_to, REPLY_STREAM_TTL_SECONDS)
                pipe.xack(stream, group, *ids)
                pipe.xdel(stream, *ids)
                await pipe.execute()
    finally:
        await client.aclose()


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    url = os.environ.get("REDIS_URL", "")
    if len(args) != 2 or not url:
        print("usage: REDIS_URL=redis://… python -m amss.bench.floor_echo STREAM GROUP", file=sys.stderr)
        raise SystemExit(2)
    uvloop.run(echo(url, args[0], args[1]))


if __name__ == "__main__":
    main()
