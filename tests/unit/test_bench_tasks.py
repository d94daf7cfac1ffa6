from __future__ import annotations

from datetime import UTC, datetime

from amss.bench.tasks import Phase, plan_requests

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
