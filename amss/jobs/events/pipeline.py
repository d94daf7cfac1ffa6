"""The three loops of the event pipeline, run together in amss-worker and stopped together."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from amss.jobs.events.dispatcher import WebhookDispatcher
from amss.jobs.events.fanout import EventFanOut
from amss.jobs.events.publisher import OutboxPublisher

log = logging.getLogger(__name__)


@dataclass
class EventPipeline:
    publisher: OutboxPublisher | None
    fan_out: EventFanOut | None
    dispatcher: WebhookDispatcher | None
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        loops: list[tuple[str, Callable[[asyncio.Event], Awaitable[None]]]] = []
        if self.publisher is not None:
            loops.append(("outbox-publisher", self.publisher.run))
        if self.fan_out is not None:
            loops.append(("event-fan-out", self.fan_out.run))
        if self.dispatcher is not None:
            loops.append(("webhook-dispatcher", self.dispatcher.run))
        for name, run in loops:
            self._tasks.append(asyncio.create_task(self._guarded(name, run), name=name))

    async def _guarded(self, name: str, run: Callable[[asyncio.Event], Awaitable[None]]) -> None:
        while not self.stop_event.is_set():
            try:
                await run(self.stop_event)
            except asyncio.CancelledError:
                raise
            except Exception:  # a loop that fails outside its own handling is restarted
                log.exception("event pipeline loop stopped; restarting", extra={"loop": name})
                await asyncio.sleep(1.0)

    async def stop(self, grace: float = 10.0) -> None:
        """Ask every loop to finish (the dispatcher waits for its deliveries in flight), cancel past `grace`."""
        self.stop_event.set()
        if not self._tasks:
            return
        _, pending = await asyncio.wait(self._tasks, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
