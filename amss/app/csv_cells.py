"""The one way AMSS writes CSV: RFC 4180 rows whose cells a spreadsheet reads as text, never as formulas.

OWASP "CSV Injection": a cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return
may be run as a formula by Excel, LibreOffice or Google Sheets, so such a cell is written with a
leading `'`. Spreadsheets skip leading blanks before deciding, so the first non-blank
character counts too (`"  =1+1"` is prefixed as well).

Python numbers (`int`, `float`, `Decimal`; not `bool`) are written as they are: their text is
digits, a sign, a point or an exponent and cannot carry a formula, and `-5` stays a number a
spreadsheet can sum. A *string* that looks like a number is still prefixed (`"-5"` -> `'-5`),
as OWASP advises, because text comes from users and is not checked further.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from decimal import Decimal
from typing import Final

FORMULA_LEADS: Final = ("=", "+", "-", "@", "\t", "\r")
# what a spreadsheet skips before the first character it interprets
_BLANKS: Final = " \t\r\n\f\v\u00a0"


def cell_text(value: object) -> str:
    """The text of one cell: `None` is empty, numbers as they are, anything else neutralised."""
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    text = str(value)
    if text.startswith(FORMULA_LEADS) or text.lstrip(_BLANKS).startswith(FORMULA_LEADS):
        return "'" + text
    return text


class CsvWriter:
    """Rows in, UTF-8 CSV out: CRLF line ends, quotes doubled, every cell through `cell_text`."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")

    def row(self, cells: Iterable[object]) -> None:
        self._writer.writerow([cell_text(cell) for cell in cells])

    def take(self) -> bytes:
        """What was written since the last `take()`, encoded; the buffer starts empty again."""
        data = self._buffer.getvalue().encode()
        self._buffer.seek(0)
        self._buffer.truncate()
        return data
