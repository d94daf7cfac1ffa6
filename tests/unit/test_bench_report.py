"""`amss bench mesh`'s pure helpers: percentiles, worker-count parsing and the printed report."""

from __future__ import annotations

import math

import pytest

from amss.bench.common import CpuSnapshot, CpuUsage, percentile
from amss.bench.mesh import parse_worker_counts, split_evenly
from amss.bench.mesh_report import RowResult, format_report


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [4.0, 1.0, 3.0, 2.0]  # unsorted on purpose
    assert percentile(values, 0) == 1.0
    assert percentile(values, 100) == 4.0
    assert percentile(values, 50) == pytest.approx(2.5)
    assert percentile(values, 99) == pytest.approx(3.97)


def test_percentile_of_one_value_and_of_none() -> None:
    assert percentile([7.0], 50) == 7.0
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))


def test_percentile_p50_and_p99_of_a_uniform_sample() -> None:
    values = [float(i) for i in range(1, 1001)]
    assert percentile(values, 50) == pytest.approx(500.5)
    assert percentile(values, 99) == pytest.approx(990.01)


@pytest.mark.parametrize("q", [-1, 100.5])
def test_percentile_refuses_a_rank_outside_0_to_100(q: float) -> None:
    with pytest.raises(ValueError, match="q must be"):
        percentile([1.0], q)


@pytest.mark.parametrize(
    ("text", "expected"), [("1,2", [1, 2]), (" 2 , 1 ", [2, 1]), ("1,1,3", [1, 3]), ("4", [4]), ("1,,2", [1, 2])]
)
def test_worker_counts_are_parsed_in_order_without_duplicates(text: str, expected: list[int]) -> None:
    assert parse_worker_counts(text) == expected


@pytest.mark.parametrize("text", ["", ",", "0", "1,-2", "two", "1.5"])
def test_bad_worker_counts_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="worker count"):
        parse_worker_counts(text)


def _row(name: str, p50_ms: float, throughput: float, errors: int = 0, notes: tuple[str, ...] = ()) -> RowResult:
    sequential = [p50_ms / 1000] * 99 + [10 * p50_ms / 1000]
    return RowResult(name, sequential, [5 * p50_ms / 1000] * 10, throughput, errors, notes)


def test_report_has_a_row_per_configuration_with_milliseconds_and_throughput() -> None:
    rows = [_row("floor", 1.0, 2000.0), _row("mesh 1 worker", 1.2, 1500.0), _row("mesh 2 workers", 1.8, 1600.0)]
    report = format_report(rows, 64, ["header line"], "machine: 2 cores")
    lines = report.splitlines()
    assert lines[0] == "header line"
    table_header = next(line for line in lines if line.startswith("configuration"))
    assert "seq p50 ms" in table_header
    assert "seq p99 ms" in table_header
    assert "throughput/s @64" in table_header
    floor_line = next(line for line in lines if line.startswith("floor "))
    assert floor_line.split() == ["floor", "1.00", "1.09", "5.00", "5.00", "2000", "0"]
    assert next(line for line in lines if line.startswith("mesh 2 workers ")).split()[-2:] == ["1600", "0"]
    assert lines[-1] == "machine: 2 cores"


def test_report_ratios_judge_the_targets() -> None:
    rows = [_row("floor", 1.0, 2000.0), _row("mesh 1 worker", 1.2, 1500.0), _row("mesh 2 workers", 1.8, 1100.0)]
    report = format_report(rows, 64, [], "machine")
    one = next(line for line in report.splitlines() if line.strip().startswith("mesh 1 worker") and "x" in line)
    two = next(line for line in report.splitlines() if line.strip().startswith("mesh 2 workers") and "%" in line)
    assert one.split() == ["mesh", "1", "worker", "1.20x", "met", "75%", "met"]
    assert two.split() == ["mesh", "2", "workers", "1.80x", "MISSED", "55%", "MISSED"]
    assert "mesh 2 workers / mesh 1 worker throughput: 0.73x" in report


def test_report_columns_line_up() -> None:
    rows = [_row("floor", 1.0, 2000.0), _row("mesh 12 workers", 123.456, 9.0, errors=3)]
    lines = format_report(rows, 8, [], "machine").splitlines()
    table = [line for line in lines if line.startswith(("configuration", "floor ", "mesh 12 workers "))]
    assert len(table) == 3
    assert len({len(line) for line in table}) == 1
    assert table[2].split()[-1] == "3"


def test_report_prints_each_rows_notes_under_its_name() -> None:
    rows = [_row("floor", 1.0, 2000.0, notes=("cores busy: bench 0.50",))]
    report = format_report(rows, 64, [], "machine")
    assert "floor:\n  cores busy: bench 0.50" in report
    assert "ratios" not in report  # nothing to compare a lone floor with


def test_report_shows_a_dash_for_a_missing_measurement() -> None:
    rows = [RowResult("floor", [], [], 0.0)]
    floor_line = next(line for line in format_report(rows, 64, [], "m").splitlines() if line.startswith("floor"))
    assert floor_line.split()[1:5] == ["-", "-", "-", "-"]


@pytest.mark.parametrize(
    ("total", "parts", "expected"), [(10, 3, [4, 3, 3]), (9, 3, [3, 3, 3]), (2000, 1, [2000]), (2, 2, [1, 1])]
)
def test_counts_are_split_evenly_over_rounds(total: int, parts: int, expected: list[int]) -> None:
    assert split_evenly(total, parts) == expected
    assert sum(split_evenly(total, parts)) == total


def _snapshot(at: float, busy: int, processes: dict[int, tuple[str, int]], steal: int = 0) -> CpuSnapshot:
    return CpuSnapshot(at, busy, steal, processes)


def test_cpu_usage_charges_named_processes_postgres_and_redis_and_leaves_the_rest_to_other() -> None:
    before = _snapshot(0.0, 0, {1: ("python3", 0), 2: ("postgres", 0), 3: ("redis-server", 0), 4: ("pytest", 0)})
    after = _snapshot(
        2.0, 360, {1: ("python3", 100), 2: ("postgres", 120), 3: ("redis-server", 20), 4: ("pytest", 100)}, steal=10
    )
    usage = CpuUsage()
    usage.add(before, after, {1: "bench"}, commands=1000, tick=100)
    line = usage.describe(2)
    # 2 s: bench 1.00 s -> 0.50 cores, postgres 0.60, redis 0.10; machine 3.6 s -> 1.80, so other 0.60
    assert line.startswith("cores busy @inflight: bench 0.50, postgres 0.60, redis 0.10, other 0.60 (total 1.80 of 2;")
    assert "stolen by the hypervisor 0.05" in line
    assert "CPU per command, other excluded: 2.40 ms" in line  # (1.0 + 1.2 + 0.2) s / 1000
    assert line.endswith("other load disturbed these phases")


def test_cpu_usage_counts_backends_of_other_databases_as_other_and_sums_intervals() -> None:
    usage = CpuUsage()
    for start in (0.0, 10.0):
        before = _snapshot(start, 0, {2: ("postgres", 0), 5: ("postgres", 0)})
        after = _snapshot(start + 1.0, 100, {2: ("postgres", 90), 5: ("postgres", 10)})
        usage.add(before, after, {}, commands=100, foreign={5}, tick=100)
    line = usage.describe(2)
    assert line.startswith("cores busy @inflight: postgres 0.90, other 0.10 (total 1.00 of 2;")
    assert "CPU per command, other excluded: 9.00 ms" in line
    assert "disturbed" not in line


def test_cpu_usage_without_proc_says_so() -> None:
    usage = CpuUsage()
    usage.add(None, None, {}, commands=10)
    assert usage.describe(2) == "cores busy: not measured (no /proc)"
