"""The one JSON encoder of json/jsonb columns takes every value type a repository returns."""

from __future__ import annotations

import ipaddress
import uuid
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal

import orjson
import pytest
from asyncpg.pgproto import pgproto

from amss.domain.enums import AircraftStatus, Role
from amss.infra.postgres.json_codec import encode_json


def test_values_read_back_from_postgres_are_encoded_as_the_api_renders_them() -> None:
    read_back = pgproto.UUID(str(uuid.uuid4()))
    value = {
        "id": read_back,
        "plain_id": uuid.UUID(int=7),
        "at": datetime(2026, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))),
        "naive": datetime(2026, 5, 1, 10, 0),
        "day": date(2026, 5, 1),
        "clock": time(6, 30),
        "amount": Decimal("12.50"),
        "huge": Decimal("123456789012345678901234567890.000000001"),
        "retention": timedelta(days=30),
        "status": AircraftStatus.GROUNDED,
        "role": Role.MECHANIC,
        "ip": ipaddress.ip_address("2001:db8::1"),
        "tags": frozenset({"b", "a"}),
        "nested": [{"from": None, "to": read_back}],
    }
    encoded = encode_json(value)
    assert orjson.loads(encoded) == {
        "id": str(read_back),
        "plain_id": str(uuid.UUID(int=7)),
        "at": "2026-05-01T10:00:00Z",
        "naive": "2026-05-01T10:00:00Z",
        "day": "2026-05-01",
        "clock": "06:30:00",
        "amount": 12.5,
        "huge": pytest.approx(1.2345678901234568e29),
        "retention": "P30D",
        "status": "grounded",
        "role": "mechanic",
        "ip": "2001:db8::1",
        "tags": ["a", "b"],
        "nested": [{"from": None, "to": str(read_back)}],
    }
    # Decimals stay exact numbers in the document
    assert '"amount":12.50' in encoded
    assert '"huge":123456789012345678901234567890.000000001' in encoded


def test_a_utc_timestamp_keeps_its_microseconds_and_gets_z() -> None:
    assert encode_json(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)) == '"2026-01-02T03:04:05.000006Z"'


def test_a_value_no_column_could_hold_names_its_type() -> None:
    with pytest.raises(TypeError, match="object"):
        encode_json({"x": object()})
