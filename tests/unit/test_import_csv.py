"""CSV records from chunks (any split gives the same records), header checks, and rows checked as REST bodies."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from amss.app.imports.csv_text import CsvFormatError, HeaderProblem, RecordReader, check_header, records_of
from amss.app.imports.rows import AircraftRow, PartRow, check_row, natural_key
from amss.app.imports.spec import SPECS
from amss.domain.enums import AircraftStatus, ImportType

NOW = datetime(2026, 12, 6, tzinfo=UTC)
TRICKY = (
    "\ufeffa,b,c\r\n"
    '1,"x, y",z\r\n'
    '2,"say ""hi""",\r\n'
    '3,"line one\r\nline two\nline three",end\n'
    "\r\n"
    "4,,\r"
    ",,\r\n"
    "5,last,no-newline"
)
EXPECTED = [
    ["a", "b", "c"],
    ["1", "x, y", "z"],
    ["2", 'say "hi"', ""],
    ["3", "line one\r\nline two\nline three", "end"],
    ["4", "", ""],
    ["5", "last", "no-newline"],
]


def test_records_of_a_whole_text() -> None:
    assert list(records_of(TRICKY)) == EXPECTED


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64])
def test_any_chunking_gives_the_same_records(size: int) -> None:
    reader = RecordReader()
    records: list[list[str]] = []
    for start in range(0, len(TRICKY), size):
        records.extend(reader.feed(TRICKY[start : start + size]))
    records.extend(reader.finish())
    assert records == EXPECTED


def test_a_quote_never_closed_is_a_format_error() -> None:
    with pytest.raises(CsvFormatError, match="never closed"):
        list(records_of('a,b\r\n1,"open\r\n2,x\r\n'))


def test_a_stray_quote_in_an_unquoted_field_is_a_format_error() -> None:
    with pytest.raises(CsvFormatError):
        list(records_of('a,b\r\nx"y,"z\r\n1,2\r\n'))


def test_header_names_are_trimmed_and_case_insensitive() -> None:
    header = check_header(SPECS[ImportType.AIRCRAFT], [" Tail_Number ", "MODEL"])
    assert header.columns == ("tail_number", "model")
    raw, problems = header.raw(["N1"])
    assert raw == {"tail_number": "N1", "model": ""} and problems == []
    _, problems = header.raw(["N1", "A320", "extra"])
    assert problems == ["row: 3 cells, but the header names 2 columns"]


def test_a_header_problem_names_each_column() -> None:
    with pytest.raises(HeaderProblem) as caught:
        check_header(SPECS[ImportType.PARTS], ["part_name", "colour", "colour"])
    assert caught.value.fields == {
        "colour": "not a column of a parts file",
        "serial_number": "required column missing",
    }


def test_an_aircraft_row_is_checked_as_its_rest_body() -> None:
    checked = check_row(
        ImportType.AIRCRAFT,
        {"tail_number": " N1 ", "model": "A320", "status": "grounded", "capacity_slots": "+2"},
        NOW,
    )
    assert checked.errors == []
    assert isinstance(checked.parsed, AircraftRow)
    assert checked.parsed.new.tail_number == "N1"
    assert checked.parsed.new.status is AircraftStatus.GROUNDED
    assert checked.parsed.given == frozenset({"tail_number", "model", "status", "capacity_slots"})


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"model": "A320"}, "tail_number: required"),
        ({"tail_number": "N1", "model": "A320", "capacity_slots": "1.5"}, "capacity_slots: must be a whole number"),
        ({"tail_number": "N1", "model": "A320", "capacity_slots": "0"}, "capacity_slots: "),
        ({"tail_number": "N1", "model": "A320", "capacity_slots": "9" * 25}, "capacity_slots: "),
        ({"tail_number": "N1", "model": "A320", "next_due": "9999-01-01T00:00:00Z"}, "next_due: must be from"),
        ({"tail_number": "N" * 33, "model": "A320"}, "tail_number: "),
    ],
)
def test_bad_aircraft_cells_name_their_column(raw: dict[str, str], problem: str) -> None:
    checked = check_row(ImportType.AIRCRAFT, raw, NOW)
    assert checked.parsed is None
    assert any(error.startswith(problem) for error in checked.errors), checked.errors


def test_a_part_row_keeps_its_definition_and_item_apart() -> None:
    checked = check_row(
        ImportType.PARTS, {"part_name": " pump ", "serial_number": "S1", "expiry_date": "2027-01-01T00:00:00Z"}, NOW
    )
    assert isinstance(checked.parsed, PartRow)
    assert checked.parsed.definition.name == "pump"
    assert checked.parsed.serial_number == "S1"


def test_natural_keys() -> None:
    assert natural_key(SPECS[ImportType.AIRCRAFT], {"tail_number": " N1 "}) == ("N1",)
    assert natural_key(SPECS[ImportType.AIRCRAFT], {"tail_number": ""}) is None
    assert natural_key(SPECS[ImportType.PROGRAMS], {"name": "A", "tail_number": ""}) == ("A", "")
