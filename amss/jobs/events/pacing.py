"""The loops' idle wait: a poll interval cut short by a stop or a wake-up."""

from __future__ import annotations

import asyncio


async def pause(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less if `stop` or `wake` is set; clears `wake`."""
    if stop.is_set():
        return
    waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        wake.clear()
