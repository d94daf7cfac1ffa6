"""The one JSON encoder of every value written to a json/jsonb column: audit details, event payloads, commands.

Whatever a repository reads back can go into a details document as it is: asyncpg's own UUID
type, timestamps (rendered in UTC with `Z`, as the API renders them), dates, times, intervals
(ISO 8601 durations, as the API renders them), Decimals (exact JSON numbers), enums, IP
addresses and sets. Nothing upstream needs a per-field `str()`.
"""

from __future__ import annotations

import ipaddress
import uuid
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any

import orjson
from pydantic import TypeAdapter

# timestamps go through `_default` too: rendered in UTC with `Z` whatever their offset
_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME
_DURATION: TypeAdapter[timedelta] = TypeAdapter(timedelta)


def encode_json(value: Any) -> str:
    """`value` as JSON text for Postgres; TypeError (naming the type) for a value no column could hold."""
    return orjson.dumps(value, option=_OPTIONS, default=_default).decode()


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):  # asyncpg's pgproto UUID subclasses uuid.UUID; orjson knows only the base
        return str(value)
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value)) if value.is_finite() else str(value)
    if isinstance(value, timedelta):
        return _DURATION.dump_python(value, mode="json")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, ipaddress.IPv4Address | ipaddress.IPv6Address | ipaddress.IPv4Network | ipaddress.IPv6Network):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"Type is not JSON serializable: {type(value).__module__}.{type(value).__qualname__}")
