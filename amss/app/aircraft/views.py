"""How an aircraft looks on the wire (REST reads and command outcomes alike; rules in amss/app/views.py)."""

from __future__ import annotations

from typing import Any

import orjson

from amss.app.views import utc_text
from amss.domain.aircraft import Aircraft


def aircraft_view(aircraft: Aircraft) -> dict[str, Any]:
    return {
        "id": str(aircraft.id),
        "org_id": str(aircraft.org_id),
        "tail_number": aircraft.tail_number,
        "model": aircraft.model,
        "status": aircraft.status.value,
        "grounded_by": aircraft.grounded_by.value if aircraft.grounded_by else None,
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
