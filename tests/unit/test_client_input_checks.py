"""Client input the REST layer checks before it reaches a query: cursors, NUL characters, versions,
and the class 22 data exceptions the translation table turns into 400s as a second wall."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from amss.api.rest.bodies import MAX_CURSOR_TEXT, decode_cursor, encode_cursor, nul_field, refuse_nul, whole_number
from amss.app.commands.base import parse_payload
from amss.app.paging import SortColumn, SortKind
from amss.app.tasks.commands import DeleteTask, TaskChanges
from amss.domain.errors import ValidationFailed
from amss.infra.postgres.errors import translate

TIME = SortColumn("created_at")
TEXT = SortColumn("name", SortKind.TEXT)
INTEGER = SortColumn("position", SortKind.INTEGER)
ROLE = SortColumn("role", SortKind.TEXT, ("admin", "mechanic"))
ID = uuid.uuid4()


def _cursor(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def _refused(cursor: str, sort: str, column: SortColumn) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as refused:
        decode_cursor(cursor, sort, column)
    assert list(refused.value.details["fields"]) == ["cursor"]
    return refused.value


@pytest.mark.parametrize(
    ("value", "column"),
    [
        (datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC), TIME),
        ("N101AM", TEXT),
        (42, INTEGER),
        ("mechanic", ROLE),
    ],
)
def test_an_issued_cursor_decodes_to_its_value(value: object, column: SortColumn) -> None:
    cursor = encode_cursor("name", True, (value, ID))
    assert decode_cursor(cursor, "-name", column) == (value, ID)


@pytest.mark.parametrize(
    ("payload", "column"),
    [
        (["created_at", ["v", "abc"], str(ID)], TIME),
        (["created_at", ["t", "abc"], str(ID)], TIME),
        (["created_at", ["t", "0001-01-01T00:10:00+01:00"], str(ID)], TIME),
        (["created_at", ["t", "9999-12-31T23:00:00-01:00"], str(ID)], TIME),
        (["created_at", ["t", "2026-01-01T00:00:00"], str(ID)], TIME),
        (["created_at", ["t", 1e30], str(ID)], TIME),
        (["created_at", ["t", "2026-01-01T00:00:00Z"], "nope"], TIME),
        (["created_at", ["t", "2026-01-01T00:00:00Z"], 7], TIME),
        (["created_at", ["t", "2026-01-01T00:00:00Z"]], TIME),
        (["created_at", [["t"], ["x"]], str(ID)], TIME),
        (["created_at", "t", str(ID)], TIME),
        ({"sort": "created_at"}, TIME),
        (12, TIME),
        (None, TIME),
        (["created_at", ["v", 12], str(ID)], TEXT),
        (["created_at", ["v", 1e30], str(ID)], TEXT),
        (["created_at", ["v", {"a": 1}], str(ID)], TEXT),
        (["created_at", ["v", "x" * (MAX_CURSOR_TEXT + 1)], str(ID)], TEXT),
        (["created_at", ["v", "a\x00b"], str(ID)], TEXT),
        (["created_at", ["v", "not-a-role"], str(ID)], ROLE),
        (["created_at", ["i", 2**31], str(ID)], INTEGER),
        (["created_at", ["i", 99999999999999999999], str(ID)], INTEGER),
        (["created_at", ["i", True], str(ID)], INTEGER),
        (["created_at", ["i", "1"], str(ID)], INTEGER),
    ],
)
def test_a_forged_cursor_is_refused_naming_cursor(payload: Any, column: SortColumn) -> None:
    _refused(_cursor(payload), "created_at", column)


def test_a_cursor_of_another_sort_order_is_refused() -> None:
    refused = _refused(encode_cursor("created_at", False, (datetime(2026, 1, 1, tzinfo=UTC), ID)), "-created_at", TIME)
    assert "another sort order" in refused.message


@pytest.mark.parametrize("cursor", ["!!!", "x" * 5000, base64.urlsafe_b64encode(b"[" * 1100 + b"]" * 1100).decode()])
def test_garbage_and_oversized_cursors_are_refused(cursor: str) -> None:
    _refused(cursor, "created_at", TIME)


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({"email": "a\x00b@x.dev"}, "email"),
        ({"a\x00": 1}, "a\x00"),
        ({"rate_limits": {"read": 1, "wr\x00ite": 2}}, "rate_limits.wr\x00ite"),
        ({"items": [{"x": "ok"}, {"x": ["fine", "n\x00"]}]}, "items.1.x.1"),
        ("\x00", "body"),
        ({"fine": ["text", 1, 2.5, None, True, {"k": "v"}]}, None),
    ],
)
def test_the_nul_walker_finds_the_first_field_holding_one(value: Any, path: str | None) -> None:
    assert nul_field(value) == path


def test_a_nul_in_a_key_is_named_readably() -> None:
    with pytest.raises(ValidationFailed) as refused:
        refuse_nul({"a\x00": 1})
    assert list(refused.value.details["fields"]) == ["a\\u0000"]


@pytest.mark.parametrize(
    ("text", "number"), [("0", 0), ("2147483647", 2147483647), ("²", None), ("١", None), ("-1", None), ("", None)]
)
def test_whole_numbers_are_ascii_digits(text: str, number: int | None) -> None:
    assert whole_number(text) == number


@pytest.mark.parametrize("version", [2**31, 10**20, -1])
def test_a_command_payloads_version_beyond_the_column_is_refused(version: int) -> None:
    with pytest.raises(ValidationFailed):
        parse_payload(
            DeleteTask, {"aircraft_id": str(uuid.uuid4()), "task_id": str(uuid.uuid4()), "expected_version": version}
        )


@pytest.mark.parametrize("value", ["0001-01-01T00:10:00+01:00", "9999-12-31T23:00:00-01:00", "1899-12-31T23:00:00Z"])
def test_a_command_payloads_timestamp_beyond_the_range_is_refused(value: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_payload(TaskChanges, {"start_time": value})
    assert list(refused.value.details["fields"]) == ["start_time"]


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.CharacterNotInRepertoireError,
        asyncpg.UntranslatableCharacterError,
        asyncpg.DatetimeFieldOverflowError,
        asyncpg.NumericValueOutOfRangeError,
        asyncpg.InvalidTextRepresentationError,
        asyncpg.StringDataRightTruncationError,
        asyncpg.InvalidDatetimeFormatError,
    ],
)
def test_class_22_data_exceptions_become_400(error: type[asyncpg.PostgresError]) -> None:
    assert error.sqlstate.startswith("22")
    translated = translate(_server_error(error.sqlstate, "boom"))
    assert isinstance(translated, ValidationFailed)
    assert translated.details["sqlstate"] == error.sqlstate
    assert "boom" not in translated.message


def _server_error(sqlstate: str, message: str) -> asyncpg.PostgresError:
    """An error as Postgres reports it (asyncpg builds the subclass of the SQLSTATE, severity set)."""
    return asyncpg.PostgresError.new({"C": sqlstate, "M": message, "S": "ERROR"})


def test_an_argument_asyncpg_cannot_encode_is_not_the_clients_fault() -> None:
    # asyncpg's own DataError (22000, no severity): a value our code built wrongly -> 500, not a 400
    client_side = asyncpg.DataError("invalid input for query argument $1: 1099511627776 (value out of int32 range)")
    assert client_side.sqlstate.startswith("22")
    assert translate(client_side) is None
