"""The timestamps the system accepts, the arithmetic on them, and the one way a time becomes text.

The accepted range is decided once here: an instant, after its offset is normalised to UTC, from
1900-01-01T00:00:00Z to 2200-12-31T23:59:59.999999Z, both inclusive. Every timestamp a client
sends (bodies, list filters, cursors, command payloads) must lie in it and carry an offset.
Inside the range, and with the bounded intervals the domain uses (at most 36,500 days), no
arithmetic can leave Python's datetime range (years 1..9999); `shift` clamps all the same, so a
value read from the database that is outside the range never raises OverflowError.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from amss.domain.errors import ValidationFailed

MIN_YEAR: Final = 1900
MAX_YEAR: Final = 2200
EARLIEST: Final = datetime(MIN_YEAR, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(MAX_YEAR, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)
RANGE_TEXT: Final = f"from {MIN_YEAR}-01-01T00:00:00Z to {MAX_YEAR}-12-31T23:59:59.999999Z (in UTC)"
# the year as written (before the offset is applied) must also be within the range
YEAR_PATTERN: Final = r"^(19[0-9]{2}|2[01][0-9]{2}|2200)-"
_FLOOR: Final = datetime.min.replace(tzinfo=UTC)
_CEILING: Final = datetime.max.replace(tzinfo=UTC)


def range_problem(value: datetime) -> str | None:
    """Why `value` is not an accepted timestamp, or None when it is."""
    if value.tzinfo is None or value.utcoffset() is None:
        return "must carry a time zone offset"
    # comparing aware datetimes never converts them, so this cannot overflow near years 1 or 9999
    if not EARLIEST <= value <= LATEST:
        return f"must be {RANGE_TEXT}"
    return None


def check_timestamp(name: str, value: datetime) -> datetime:
    """`value` in UTC when it is an accepted timestamp; else ValidationFailed naming `name`."""
    problem = range_problem(value)
    if problem is not None:
        raise ValidationFailed.on_field(name, problem)
    return value.astimezone(UTC)


def shift(moment: datetime, delta: timedelta) -> datetime:
    """`moment + delta`, clamped to the representable datetimes (in UTC) instead of overflowing."""
    try:
        return moment + delta
    except OverflowError:
        return _CEILING if delta > timedelta(0) else _FLOOR


def utc_text(moment: datetime) -> str:
    """The API's one text form of a time: RFC 3339 in UTC with `Z` (microseconds only when non-zero)."""
    if moment.tzinfo is None:  # naive means UTC here, as in the JSON encoder (orjson OPT_NAIVE_UTC)
        moment = moment.replace(tzinfo=UTC)
    try:
        utc = moment.astimezone(UTC)
    except OverflowError:  # not representable in UTC (only outside the accepted range): keep its offset
        return moment.isoformat()
    return utc.isoformat().replace("+00:00", "Z")


def optional_utc_text(moment: datetime | None) -> str | None:
    return None if moment is None else utc_text(moment)
