"""What every view shares: how a time and an enum look on the wire.

Views are rendered once for REST reads and command outcomes alike (a command's stored outcome
must be byte for byte what a synchronous call returns, and the handlers may not import the REST
layer), one module per aggregate (amss/app/<aggregate>/views.py). They hold only JSON primitives:
ids as strings, timestamps as RFC 3339 UTC with `Z`.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum

from amss.domain.timestamps import optional_utc_text


def utc_text(value: datetime | None) -> str | None:
    """The one text form of a time (amss.domain.timestamps.utc_text), None staying None."""
    return optional_utc_text(value)


def json_value(value: object) -> object:
    """A timestamp or enum as its JSON text; anything else as it is."""
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, Enum):
        return value.value
    return value
