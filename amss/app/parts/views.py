"""How part definitions, items and reservations look on the wire (rules in amss/app/views.py)."""

from __future__ import annotations

from typing import Any

import orjson

from amss.app.views import utc_text
from amss.domain.parts import PartDefinition, PartItem, PartReservation


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
