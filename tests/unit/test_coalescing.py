"""Coalescing per event-loop turn: one batch per turn, every caller settled, a failing send fails its batch."""

from __future__ import annotations

import asyncio

import pytest

from amss.infra.coalescing import Coalescer


async def test_what_one_turn_submits_is_sent_as_one_batch_and_each_caller_gets_its_reply() -> None:
    batches: list[list[int]] = []

    async def send(batch: list[tuple[int, asyncio.Future[int]]]) -> None:
        batches.append([item for item, _ in batch])
        for item, future in batch:
            future.set_result(item * 10)

    turn: Coalescer[int, int] = Coalescer(send)
    assert await asyncio.gather(*(turn.submit(n) for n in range(5))) == [0, 10, 20, 30, 40]
    assert await turn.submit(7) == 70
    assert batches == [[0, 1, 2, 3, 4], [7]]


async def test_a_send_that_raises_fails_every_caller_it_left_waiting() -> None:
    async def send(batch: list[tuple[int, asyncio.Future[int]]]) -> None:
        batch[0][1].set_result(1)  # settled before the failure: keeps its reply
        raise ConnectionError("backend unreachable")

    turn: Coalescer[int, int] = Coalescer(send)
    outcomes = await asyncio.gather(*(turn.submit(n) for n in range(3)), return_exceptions=True)
    assert outcomes[0] == 1
    assert all(isinstance(outcome, ConnectionError) for outcome in outcomes[1:])


async def test_close_flushes_what_is_queued_and_waits_for_it() -> None:
    sent: list[int] = []

    async def send(batch: list[tuple[int, asyncio.Future[None]]]) -> None:
        await asyncio.sleep(0.01)
        for item, future in batch:
            sent.append(item)
            future.set_result(None)

    turn: Coalescer[int, None] = Coalescer(send)
    waiting = asyncio.create_task(turn.submit(3))
    await asyncio.sleep(0)  # queued, its flush scheduled
    await turn.close()
    assert sent == [3]
    await waiting


async def test_a_cancelled_send_tells_its_callers_and_is_not_swallowed() -> None:
    started = asyncio.Event()

    async def send(batch: list[tuple[int, asyncio.Future[int]]]) -> None:
        started.set()
        await asyncio.sleep(10)

    turn: Coalescer[int, int] = Coalescer(send)
    caller = asyncio.create_task(turn.submit(1))
    await started.wait()
    for task in list(turn._flushing):  # the flush in progress, as a shutdown would cancel it
        task.cancel()
    with pytest.raises(ConnectionError):
        await caller
