"""Part commands: the types and JSON payloads the REST layer submits and the part item's actor executes.

Every write that touches a part item — its limited updates, its soft delete, reserving it and
moving its reservation to used or released — runs in the actor `part:{org_id}:{part_item_id}`.
Payloads are plain JSON; `read_*` refuses anything malformed as a validation error.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from amss.app.payload_fields import read_expected_version as _version
from amss.app.payload_fields import read_timestamp as _timestamp
from amss.domain.enums import PartItemStatus, ReservationState
from amss.domain.errors import ValidationFailed
from amss.domain.parts import PartItemPatch
from amss.domain.timestamps import utc_text
from amss.domain.versioning import UNSET, Unset

ITEM_UPDATE: Final = "part_item.update"
ITEM_DELETE: Final = "part_item.delete"
RESERVE: Final = "part_reservation.create"
RESERVATION_STATE: Final = "part_reservation.state"


@dataclass(frozen=True)
class ItemUpdateCommand:
    part_item_id: uuid.UUID
    patch: PartItemPatch
    expected_version: int | None


@dataclass(frozen=True)
class ItemDeleteCommand:
    part_item_id: uuid.UUID
    expected_version: int | None


@dataclass(frozen=True)
class ReserveCommand:
    task_id: uuid.UUID
    part_item_id: uuid.UUID
    quantity: int


@dataclass(frozen=True)
class ReservationStateCommand:
    reservation_id: uuid.UUID
    state: ReservationState
    expected_version: int | None


def item_update_payload(part_item_id: uuid.UUID, patch: PartItemPatch, expected_version: int | None) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    if patch.serial_number is not None:
        changes["serial_number"] = patch.serial_number
    if not isinstance(patch.expiry_date, Unset):
        changes["expiry_date"] = None if patch.expiry_date is None else utc_text(patch.expiry_date)
    if patch.status is not None:
        changes["status"] = patch.status.value
    return {"part_item_id": str(part_item_id), "changes": changes, "expected_version": expected_version}


def item_delete_payload(part_item_id: uuid.UUID, expected_version: int | None) -> dict[str, Any]:
    return {"part_item_id": str(part_item_id), "expected_version": expected_version}


def reserve_payload(task_id: uuid.UUID, part_item_id: uuid.UUID, quantity: int) -> dict[str, Any]:
    return {"task_id": str(task_id), "part_item_id": str(part_item_id), "quantity": quantity}


def reservation_state_payload(
    reservation_id: uuid.UUID, state: ReservationState, expected_version: int | None
) -> dict[str, Any]:
    return {"reservation_id": str(reservation_id), "state": state.value, "expected_version": expected_version}


def read_item_update(payload: Mapping[str, Any]) -> ItemUpdateCommand:
    raw = payload.get("changes")
    if not isinstance(raw, dict):
        raise ValidationFailed.on_field("changes", "must be an object")
    return ItemUpdateCommand(_id(payload, "part_item_id"), parse_item_patch(raw), _version(payload))


def read_item_delete(payload: Mapping[str, Any]) -> ItemDeleteCommand:
    return ItemDeleteCommand(_id(payload, "part_item_id"), _version(payload))


def read_reserve(payload: Mapping[str, Any]) -> ReserveCommand:
    quantity = payload.get("quantity", 1)
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise ValidationFailed.on_field("quantity", "must be a whole number")
    return ReserveCommand(_id(payload, "task_id"), _id(payload, "part_item_id"), quantity)


def read_reservation_state(payload: Mapping[str, Any]) -> ReservationStateCommand:
    state = payload.get("state")
    if state not in {ReservationState.USED.value, ReservationState.RELEASED.value}:
        raise ValidationFailed.on_field("state", "must be used or released")
    return ReservationStateCommand(_id(payload, "reservation_id"), ReservationState(state), _version(payload))


def parse_item_patch(raw: Mapping[str, Any]) -> PartItemPatch:
    """PATCH /part-items changes from JSON: serial_number, expiry_date (null: keep none), status."""
    serial_number: str | None = None
    expiry_date: datetime | Unset | None = UNSET
    status: PartItemStatus | None = None
    for name, value in raw.items():
        if name == "expiry_date" and value is None:  # the domain decides: no change, or a removal it refuses
            expiry_date = None
            continue
        if value is None:
            raise ValidationFailed.on_field(name, "must not be null")
        if name == "serial_number":
            if not isinstance(value, str):
                raise ValidationFailed.on_field(name, "must be a string")
            serial_number = value
        elif name == "expiry_date":
            expiry_date = _timestamp(name, value)
        elif name == "status":
            if value not in {status.value for status in PartItemStatus}:
                allowed = ", ".join(status.value for status in PartItemStatus)
                raise ValidationFailed.on_field(name, f"must be one of {allowed}")
            status = PartItemStatus(value)
        else:
            raise ValidationFailed.on_field(name, "unknown field")
    return PartItemPatch(serial_number=serial_number, expiry_date=expiry_date, status=status)


def _id(payload: Mapping[str, Any], name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(payload[name]))
    except (KeyError, ValueError):
        raise ValidationFailed.on_field(name, "must be a UUID") from None
