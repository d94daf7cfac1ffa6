"""CSV records from text that arrives in chunks, and the header checks every upload gets before it is stored.

The stdlib `csv` module reads each record, but records are found here first: a record ends at a
line end (CRLF, LF or CR) outside quotes, which in RFC 4180 is a line end after an even number
of quote characters (a quote inside a quoted field is doubled). So a caller feeds chunks as they
come (from the upload, or from the stored file in the database) and never holds more than one
record beyond its chunk. A record that the csv module reads differently (a stray quote inside an
unquoted field) or a quoted field never closed makes the file unreadable: `CsvFormatError`.
Blank records (empty lines, or only empty cells, as spreadsheets leave at the end) are skipped.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from amss.app.imports.spec import ImportSpec

BOM: Final = "\ufeff"
# a record longer than this (a quote never closed swallowing the file) makes the file unreadable
MAX_RECORD_CHARS: Final = 1 << 20
_LINE_END: Final = re.compile(r"\r\n|\n|\r")


class CsvFormatError(ValueError):
    """The file cannot be read as CSV from this point on; `str()` says where and why."""


class HeaderProblem(ValueError):
    """The header row is missing or names the wrong columns; `fields` names each column."""

    def __init__(self, message: str, fields: dict[str, str]) -> None:
        super().__init__(message)
        self.fields = fields


def _parsed(record: str, ordinal: int) -> list[str] | None:
    """The cells of one complete record, None when it is blank."""
    try:
        rows = list(csv.reader([record], strict=True))
    except csv.Error as exc:
        raise CsvFormatError(f"record {ordinal} of the file is not valid CSV: {exc}") from None
    if len(rows) > 1:
        raise CsvFormatError(f"record {ordinal} of the file is not valid CSV: a quote inside an unquoted field")
    if not rows or all(not cell.strip() for cell in rows[0]):
        return None
    return rows[0]


class RecordReader:
    """Feed text in order; take the non-blank records it completes, each a list of cells."""

    def __init__(self) -> None:
        self._pieces: list[str] = []
        self._size = 0
        self._quotes = 0
        self._ordinal = 0  # records seen, blank ones included (for messages)
        self._started = False

    def feed(self, text: str) -> list[list[str]]:
        if not self._started and text:
            self._started = True
            text = text.removeprefix(BOM)
        records: list[list[str]] = []
        position = 0
        for line_end in _LINE_END.finditer(text):
            self._take(text[position : line_end.end()])
            position = line_end.end()
            if self._quotes % 2 == 0:
                self._complete(records)
        self._take(text[position:])
        return records

    def finish(self) -> list[list[str]]:
        """The last record, when the file does not end with a line end."""
        records: list[list[str]] = []
        if self._quotes % 2:
            raise CsvFormatError(f"record {self._ordinal + 1} of the file has a quoted field that is never closed")
        if self._pieces:
            self._complete(records)
        return records

    def _take(self, piece: str) -> None:
        if not piece:
            return
        self._pieces.append(piece)
        self._size += len(piece)
        self._quotes += piece.count('"')
        if self._size > MAX_RECORD_CHARS:
            raise CsvFormatError(
                f"record {self._ordinal + 1} of the file is longer than {MAX_RECORD_CHARS} characters"
                " (a quoted field that is never closed?)"
            )

    def _complete(self, records: list[list[str]]) -> None:
        record = "".join(self._pieces)
        self._pieces, self._size, self._quotes = [], 0, 0
        self._ordinal += 1
        cells = _parsed(record, self._ordinal)
        if cells is not None:
            records.append(cells)


class Utf8Text:
    """Bytes in, text out, across chunk boundaries; UnicodeDecodeError names the byte offset."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._offset = 0

    def decode(self, chunk: bytes, final: bool = False) -> str:
        try:
            text = self._decoder.decode(chunk, final)
        except UnicodeDecodeError as exc:
            raise UnicodeDecodeError(
                "utf-8", chunk, exc.start, exc.end, f"not UTF-8 at byte {self._offset + exc.start}"
            ) from None
        self._offset += len(chunk)
        return text


@dataclass(frozen=True)
class Header:
    """The columns the header names, in file order (names normalised: trimmed, lower case)."""

    columns: tuple[str, ...]

    def raw(self, cells: list[str]) -> tuple[dict[str, str], list[str]]:
        """The row as column -> text (missing trailing cells are empty), and the problems of extra cells."""
        raw = {name: (cells[index] if index < len(cells) else "") for index, name in enumerate(self.columns)}
        extra = [cell for cell in cells[len(self.columns) :] if cell.strip()]
        problems = []
        if extra:
            problems.append(f"row: {len(cells)} cells, but the header names {len(self.columns)} columns")
        return raw, problems


def check_header(spec: ImportSpec, cells: list[str] | None) -> Header:
    """The header of a `spec` file, or HeaderProblem naming the missing, unknown or repeated columns."""
    if cells is None:
        raise HeaderProblem("the file has no header row", {"file": "no header row"})
    names = [cell.strip().lower() for cell in cells]
    fields: dict[str, str] = {}
    for name in names:
        if name not in spec.columns:
            fields[name or "(empty)"] = f"not a column of a {spec.type.value} file"
        elif names.count(name) > 1:
            fields[name] = "named more than once"
    for name in sorted(spec.required - set(names)):
        fields[name] = "required column missing"
    if fields:
        summary = "; ".join(f"{name}: {problem}" for name, problem in fields.items())
        raise HeaderProblem(
            f"the header row does not fit a {spec.type.value} file ({summary});"
            f" its columns are {', '.join(spec.columns)}",
            fields,
        )
    return Header(tuple(names))


def records_of(text: str) -> Iterator[list[str]]:
    """Every non-blank record of a whole text (tests and small files)."""
    reader = RecordReader()
    yield from reader.feed(text)
    yield from reader.finish()
