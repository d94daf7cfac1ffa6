"""Replies: workers write a command's outcome to the submitting process's reply stream; one listener
task per API process reads that stream and resolves the waiting request's future.

A reply for a process that died or stopped waiting is simply dropped; the client polls instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Any, Final

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from amss.app.commands.outcomes import Outcome, outcome_from_json, outcome_json
from amss.app.commands.transport import StreamCommand

log = logging.getLogger(__name__)
REPLY_STREAM_MAXLEN: Final = 10_000
REPLY_STREAM_TTL_SECONDS: Final = 600


def encode_reply(command_id: uuid.UUID, outcome: Outcome) -> dict[str, bytes]:
    return {"id": str(command_id).encode(), "outcome": orjson.dumps(outcome_json(outcome))}


def decode_reply(fields: dict[bytes, bytes]) -> tuple[uuid.UUID, Outcome]:
    return uuid.UUID(fields[b"id"].decode()), outcome_from_json(orjson.loads(fields[b"outcome"]))


def reply_commands(stream: str, command_id: uuid.UUID, result: Outcome) -> list[StreamCommand]:
    """The reply as Redis commands: an entry on a bounded stream that expires with its reader."""
    fields = [item for pair in encode_reply(command_id, result).items() for item in pair]
    return [
        ("XADD", stream, "MAXLEN", "~", REPLY_STREAM_MAXLEN, "*", *fields),
        ("EXPIRE", stream, REPLY_STREAM_TTL_SECONDS),
    ]


class ReplyListener:
    def __init__(self, client: Redis, stream: str, block_ms: int = 1000) -> None:
        self._client = client
        self.stream = stream
        self._block_ms = block_ms
        self._waiting: dict[uuid.UUID, asyncio.Future[Outcome]] = {}
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def expect(self, command_id: uuid.UUID) -> asyncio.Future[Outcome]:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._waiting[command_id] = future
        return future

    def forget(self, command_id: uuid.UUID) -> None:
        future = self._waiting.pop(command_id, None)
        if future is not None and not future.done():
            future.cancel()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"reply-listener:{self.stream}")

    async def stop(self) -> None:
        # wake the blocked XREAD with an entry of our own instead of cancelling it mid-read:
        # redis-py can swallow a cancellation that lands inside a blocking read
        self._stopping = True
        if self._task is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._client.xadd(self.stream, {"wake": b"1"})
            done, _ = await asyncio.wait([self._task], timeout=self._block_ms / 1000 + 1)
            if not done:
                self._task.cancel()
                await asyncio.gather(self._task, return_exceptions=True)
        for future in self._waiting.values():
            future.cancel()
        self._waiting.clear()
        with contextlib.suppress(RedisError, OSError):
            await self._client.delete(self.stream)

    async def _run(self) -> None:
        last_id: bytes = b"0-0"  # the stream is this process's own: everything in it is for us
        while not self._stopping:
            try:
                batches: Any = await self._client.xread({self.stream: last_id}, count=500, block=self._block_ms)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("reply stream unreadable; retrying", extra={"error": repr(exc)})
                await asyncio.sleep(0.5)
                continue
            for _, entries in batches or []:
                for entry_id, fields in entries:
                    last_id = entry_id
                    if b"wake" in fields:
                        continue
                    try:
                        command_id, result = decode_reply(fields)
                    except (KeyError, ValueError, orjson.JSONDecodeError):
                        log.warning("malformed reply dropped", extra={"entry": str(entry_id)})
                        continue
                    future = self._waiting.pop(command_id, None)
                    if future is not None and not future.done():
                        future.set_result(result)
