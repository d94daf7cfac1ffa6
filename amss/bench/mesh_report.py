"""The report `amss bench mesh` prints: its rows, the table, and the ratios against the floor."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from typing import Final

from amss.bench.common import ms, percentile, ratio, verdict

TARGET_P50_RATIO: Final = 1.5
TARGET_THROUGHPUT_RATIO: Final = 0.6


@dataclasses.dataclass(frozen=True)
class RowResult:
    """One row of the table; latencies in seconds."""

    name: str
    sequential: Sequence[float]
    loaded: Sequence[float]
    throughput: float
    errors: int = 0
    # extra lines printed under the table for this row (breakdowns, CPU)
    notes: tuple[str, ...] = ()


def format_report(rows: Sequence[RowResult], inflight: int, header: Sequence[str], machine: str) -> str:
    """The printed report: header lines, the table, notes, ratios against the first row (the floor), machine."""
    columns = ("seq p50 ms", "seq p99 ms", f"p50 ms @{inflight}", f"p99 ms @{inflight}", f"throughput/s @{inflight}")
    name_width = max([len("configuration"), *(len(row.name) for row in rows)])
    widths = [max(len(c), 10) for c in columns]
    lines = list(header)
    lines.append("")
    lines.append(
        "  ".join([f"{'configuration':<{name_width}}", *(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True))])
        + "  errors"
    )
    for row in rows:
        cells = [
            ms(percentile(row.sequential, 50)),
            ms(percentile(row.sequential, 99)),
            ms(percentile(row.loaded, 50)),
            ms(percentile(row.loaded, 99)),
            f"{row.throughput:.0f}",
        ]
        lines.append(
            "  ".join([f"{row.name:<{name_width}}", *(f"{c:>{w}}" for c, w in zip(cells, widths, strict=True))])
            + f"  {row.errors:>6}"
        )
    noted = [row for row in rows if row.notes]
    if noted:
        lines.append("")
        for row in noted:
            lines.append(f"{row.name}:")
            lines.extend(f"  {note}" for note in row.notes)
    if len(rows) > 1:
        floor = rows[0]
        floor_p50 = percentile(floor.sequential, 50)
        lines.append("")
        lines.append(
            f"ratios vs {floor.name}    seq p50 mesh/floor (target <= {TARGET_P50_RATIO:g}x)"
            f"    throughput mesh/floor (target >= {TARGET_THROUGHPUT_RATIO:.0%})"
        )
        for row in rows[1:]:
            p50_ratio = ratio(percentile(row.sequential, 50), floor_p50)
            throughput_ratio = ratio(row.throughput, floor.throughput)
            lines.append(
                f"  {row.name:<{name_width}}  {p50_ratio:5.2f}x {verdict(p50_ratio <= TARGET_P50_RATIO):<6}{'':26}"
                f"{throughput_ratio:6.0%} {verdict(throughput_ratio >= TARGET_THROUGHPUT_RATIO)}"
            )
        mesh_rows = rows[1:]
        for before, after in itertools.pairwise(mesh_rows):
            lines.append(
                f"  {after.name} / {before.name} throughput: {ratio(after.throughput, before.throughput):.2f}x"
            )
    lines.append("")
    lines.append(machine)
    return "\n".join(lines)
