"""SQL shared by the import-row statements: the row-number range that bounds a batch's index scan.

A batch names its rows with `row_number = ANY($n)`. Over `import_rows_status_idx` (org, import, status,
row_number) the planner may take that array as a filter, not an index condition (a generic plan, or a
table not analysed yet while an import fills it): the statement then walks every still-`valid` row of
the import, and applying a file costs the square of its size. The same rows' lowest and highest
number as a range is always an index condition: each statement reads its batch's rows only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

ROW_RANGE: Final = "row_number BETWEEN {low}::integer AND {high}::integer"


def row_range(row_numbers: Sequence[int]) -> tuple[int, int]:
    """The lowest and highest of `row_numbers` (a batch has at least one row)."""
    return min(row_numbers), max(row_numbers)
