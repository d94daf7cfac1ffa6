"""How objects look on the wire, rendered once for REST reads and command results alike.

A command's stored result must be byte for byte what a synchronous call returns, and the
command handlers (amss/actors) may not import the REST layer, so both render through here.
Views hold only JSON primitives: ids as strings, timestamps as RFC 3339 UTC with `Z`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any

import orjson

from amss.domain.aircraft import Aircraft


def utc_text(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def json_value(value: object) -> object:
    """A timestamp or enum as its JSON text; anything else as it is."""
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, Enum):
        return value.value
    return value


def aircraft_view(aircraft: Aircraft) -> dict[str, Any]:
    return {
        "id": str(aircraft.id),
        "org_id": str(aircraft.org_id),
        "tail_number": aircraft.tail_number,
        "model": aircraft.model,
        "status": aircraft.status.value,
        "capacity_slots": aircraft.capacity_slots,
        "flight_hours_total": aircraft.flight_hours_total,
        "cycles_total": aircraft.cycles_total,
        "last_maintenance": utc_text(aircraft.last_maintenance),
        "next_due": utc_text(aircraft.next_due),
        "version": aircraft.version,
        "created_at": utc_text(aircraft.created_at),
        "updated_at": utc_text(aircraft.updated_at),
    }


def aircraft_body(aircraft: Aircraft) -> bytes:
    return orjson.dumps(aircraft_view(aircraft))
