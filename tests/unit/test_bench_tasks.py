from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import UTC, datetime

from amss.bench.tasks import FLOOR_ROW, Phase, Planned, Row, plan_requests, report, run_open

BASE = datetime(2031, 1, 1, tzinfo=UTC)


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


def test_plan_free_windows_never_overlap_and_overlapping_ones_hit_an_earlier_window() -> None:
    plans = plan_requests(3000, 200, 0.1, 64, BASE)
    assert len(plans) == 3000
    free = [(i, p) for i, p in enumerate(plans) if not p.overlapping]
    for i, plan in enumerate(plans):
        assert plan.aircraft == i % 200
        same = [(j, q) for j, q in free if q.aircraft == plan.aircraft and j != i]
        hits = [j for j, q in same if overlaps(plan.start, plan.end, q.start, q.end)]
        if plan.overlapping:
            assert hits and min(hits) <= i - 64
        else:
            assert not hits
    share = sum(p.overlapping for p in plans) / len(plans)
    assert 0.05 < share < 0.12


def test_plan_is_reproducible_and_without_overlaps_when_asked() -> None:
    assert plan_requests(500, 10, 0.1, 8, BASE) == plan_requests(500, 10, 0.1, 8, BASE)
    assert not any(p.overlapping for p in plan_requests(500, 10, 0.0, 8, BASE))


def test_phase_throughput_and_counts() -> None:
    phase = Phase(latencies=[0.01] * 10, elapsed=2.0, statuses={201: 8, 409: 1, 503: 1})
    assert phase.throughput == 5.0
    assert phase.count(201) == 8
    assert phase.count(409, 503) == 2
    assert Phase().throughput == 0.0


async def test_open_loop_starts_each_request_at_its_due_time_and_counts_latency_from_it() -> None:
    started_at: list[float] = []

    async def create(plan: Planned) -> tuple[int, uuid.UUID | None]:
        started_at.append(time.perf_counter())
        await asyncio.sleep(0.02)
        return (201, uuid.uuid4()) if not plan.overlapping else (409, None)

    plans = plan_requests(40, 4, 0.0, 4, BASE)
    began = time.perf_counter()
    phase = await run_open(create, plans, rate=400.0)
    offsets = [moment - began for moment in started_at]
    assert len(phase.latencies) == 40 and phase.count(201) == 40 and len(phase.created) == 40
    # request i starts at about i/400 s: never early, and not all at once
    assert all(offset >= i / 400 - 0.002 for i, offset in enumerate(offsets))
    assert offsets[-1] >= 39 / 400 - 0.002
    # each latency spans the 20 ms the request took, counted from its due time
    assert min(phase.latencies) >= 0.02
    assert phase.elapsed >= 39 / 400 + 0.02


def test_the_report_judges_only_the_rows_that_ran() -> None:
    def row(name: str, throughput: float) -> Row:
        peak = Phase(latencies=[0.01] * int(throughput), elapsed=1.0, statuses={201: int(throughput)})
        half = Phase(latencies=[0.005] * 10, elapsed=1.0, statuses={201: 10})
        return Row(name, peak, half, throughput / 2, "cpu")

    args = argparse.Namespace(requests=100, inflight=8, warmup=0, aircraft=2, overlap=0.1)
    full = report([row(FLOOR_ROW, 1000), row("http mesh off", 450), row("http mesh on", 250)], args)
    assert "http mesh off: throughput 0.45 x floor (target >= 0.40: met)" in full
    assert "http mesh on: throughput 0.25 x floor (target >= 0.30: MISSED)" in full
    alone = report([row("http mesh on", 250)], args)
    assert "x floor" not in alone and "http mesh on: p99 @half rate" in alone
