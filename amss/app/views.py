"""How objects look on the wire, rendered once for REST reads and command results alike.

A command's stored result must be byte for byte what a synchronous call returns, and the
command handlers (amss/actors) may not import the REST layer, so both render through here.
Views hold only JSON primitives: ids as strings, timestamps as RFC 3339 UTC with `Z`.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import orjson

from amss.domain.aircraft import Aircraft
from amss.domain.parts import PartDefinition, PartItem, PartReservation
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


def part_definition_view(definition: PartDefinition) -> dict[str, Any]:
    return {
        "id": str(definition.id),
        "org_id": str(definition.org_id),
        "name": definition.name,
        "category": definition.category,
        "version": definition.version,
        "created_at": utc_text(definition.created_at),
        "updated_at": utc_text(definition.updated_at),
    }


def part_item_view(item: PartItem) -> dict[str, Any]:
    return {
        "id": str(item.id),
        "org_id": str(item.org_id),
        "part_definition_id": str(item.part_definition_id),
        "serial_number": item.serial_number,
        "status": item.status.value,
        "expiry_date": utc_text(item.expiry_date),
        "version": item.version,
        "created_at": utc_text(item.created_at),
        "updated_at": utc_text(item.updated_at),
    }


def part_item_body(item: PartItem) -> bytes:
    return orjson.dumps(part_item_view(item))


def part_reservation_view(reservation: PartReservation) -> dict[str, Any]:
    return {
        "id": str(reservation.id),
        "org_id": str(reservation.org_id),
        "task_id": str(reservation.task_id),
        "part_item_id": str(reservation.part_item_id),
        "state": reservation.state.value,
        "quantity": reservation.quantity,
        "version": reservation.version,
        "created_at": utc_text(reservation.created_at),
        "updated_at": utc_text(reservation.updated_at),
    }


def part_reservation_body(reservation: PartReservation) -> bytes:
    return orjson.dumps(part_reservation_view(reservation))
