"""Coalescing per event-loop turn: what callers submit during one turn is handed over as one batch.

The first submission of a turn schedules a flush for the end of that turn; the flush passes every
item queued so far, each with the future its caller awaits, to `send`, which must settle them. A
`send` that raises settles every future it left pending with that error (a cancellation becomes a
ConnectionError for the callers, and is re-raised). `close` flushes what is queued and waits for
the flushes in progress.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")
Reply = TypeVar("Reply")


class Coalescer(Generic[Item, Reply]):
    def __init__(self, send: Callable[[list[tuple[Item, asyncio.Future[Reply]]]], Awaitable[None]]) -> None:
        self._send = send
        self._queued: list[tuple[Item, asyncio.Future[Reply]]] = []
        self._flushing: set[asyncio.Task[None]] = set()
        self._scheduled = False

    async def submit(self, item: Item) -> Reply:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Reply] = loop.create_future()
        self._queued.append((item, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._scheduled = False
        batch, self._queued = self._queued, []
        task = asyncio.create_task(self._settle(batch))
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _settle(self, batch: list[tuple[Item, asyncio.Future[Reply]]]) -> None:
        try:
            await self._send(batch)
        except BaseException as exc:
            error = exc if isinstance(exc, Exception) else ConnectionError("batch cancelled")
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            if not isinstance(exc, Exception):
                raise

    async def close(self) -> None:
        if self._queued:
            self._flush()
        await asyncio.gather(*self._flushing, return_exceptions=True)
