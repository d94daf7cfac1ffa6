"""Coalesces the Redis commands issued in one turn of the event loop into one pipeline (one round trip).

Under load many requests reach the same step at once — a rate-limit check, a command's XADD, a
worker's reply and acknowledgement — and each would otherwise be its own round trip through
redis-py, which costs more CPU than the command itself. Callers here submit commands and await
their replies; the first submission of a loop turn schedules a flush for the end of that turn,
which sends everything queued as one non-transactional pipeline. A group of commands submitted
together travels in the same pipeline, in order. Each caller gets its own reply or its own error;
a failure to reach Redis fails every caller of that flush.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis

from amss.app.commands.transport import StreamCommand
from amss.infra.coalescing import Coalescer

# one Redis command: its name and arguments (the transport port's StreamCommand)
RedisCommand = StreamCommand


class PipelineBatcher:
    def __init__(self, client: Redis) -> None:
        self._client = client
        self._encoder = client.connection_pool.get_encoder()  # type: ignore[no-untyped-call]
        self._turn: Coalescer[Sequence[RedisCommand], list[Any]] = Coalescer(self._send)

    async def call(self, *command: Any) -> Any:
        """One command's reply (its error raised, e.g. NoScriptError for an unknown EVALSHA)."""
        replies = await self.group([command])
        return replies[0]

    async def group(self, commands: Sequence[RedisCommand]) -> list[Any]:
        """The replies of commands that travel together, in order; the first error among them is raised.

        Arguments are encoded here, so one that Redis cannot take (DataError) fails only its caller."""
        encoded = [(name, *(self._encoder.encode(argument) for argument in arguments)) for name, *arguments in commands]
        return await self._turn.submit(encoded)

    async def _send(self, batch: list[tuple[Sequence[RedisCommand], asyncio.Future[list[Any]]]]) -> None:
        """One pipeline for the whole batch; a failure to reach Redis fails every caller (Coalescer)."""
        async with self._client.pipeline(transaction=False) as pipe:
            for commands, _ in batch:
                for command in commands:
                    pipe.execute_command(*command)
            replies = await pipe.execute(raise_on_error=False)
        position = 0
        for commands, future in batch:
            mine = replies[position : position + len(commands)]
            position += len(commands)
            if future.done():  # its caller was cancelled; the commands were sent all the same
                continue
            error = next((reply for reply in mine if isinstance(reply, Exception)), None)
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(list(mine))

    async def close(self) -> None:
        """Let the flushes in progress finish (their callers may still be waiting)."""
        await self._turn.close()
