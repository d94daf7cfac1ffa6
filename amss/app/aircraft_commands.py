"""Aircraft commands: the types and JSON payloads the REST layer submits and the aircraft's actor executes.

Writes to an existing aircraft (update, delete, usage) run in the actor
`aircraft:{org_id}:{aircraft_id}`. A payload is plain JSON (it is stored on the command row and
may be executed by another process): ids and timestamps as text. `*_payload` builds one,
`read_*` reads it back, refusing anything malformed as a validation error.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from amss.app.aircraft import EDITABLE, NULLABLE
from amss.app.payload_fields import read_expected_version as _version
from amss.app.payload_fields import read_timestamp as _timestamp
from amss.app.payload_fields import read_whole as _whole
from amss.app.views import json_value
from amss.domain.enums import AircraftStatus
from amss.domain.errors import ValidationFailed

UPDATE: Final = "aircraft.update"
DELETE: Final = "aircraft.delete"
USAGE: Final = "aircraft.usage"
# the periodic grounding check (a worker job): apply the automatic grounding rules now
APPLY_GROUNDING: Final = "aircraft.apply_grounding"


@dataclass(frozen=True)
class UpdateCommand:
    aircraft_id: uuid.UUID
    changes: dict[str, object]
    expected_version: int | None


@dataclass(frozen=True)
class DeleteCommand:
    aircraft_id: uuid.UUID
    expected_version: int | None


@dataclass(frozen=True)
class UsageCommand:
    aircraft_id: uuid.UUID
    flight_hours: int
    cycles: int


def update_payload(
    aircraft_id: uuid.UUID, changes: Mapping[str, object], expected_version: int | None
) -> dict[str, Any]:
    return {
        "aircraft_id": str(aircraft_id),
        "changes": {name: json_value(value) for name, value in changes.items()},
        "expected_version": expected_version,
    }


def delete_payload(aircraft_id: uuid.UUID, expected_version: int | None) -> dict[str, Any]:
    return {"aircraft_id": str(aircraft_id), "expected_version": expected_version}


def usage_payload(aircraft_id: uuid.UUID, flight_hours: int, cycles: int) -> dict[str, Any]:
    return {"aircraft_id": str(aircraft_id), "flight_hours": flight_hours, "cycles": cycles}


def apply_grounding_payload(aircraft_id: uuid.UUID) -> dict[str, Any]:
    return {"aircraft_id": str(aircraft_id)}


def read_apply_grounding(payload: Mapping[str, Any]) -> uuid.UUID:
    return _aircraft_id(payload)


def read_update(payload: Mapping[str, Any]) -> UpdateCommand:
    raw = payload.get("changes")
    if not isinstance(raw, dict):
        raise ValidationFailed.on_field("changes", "must be an object")
    return UpdateCommand(_aircraft_id(payload), parse_changes(raw), _version(payload))


def read_delete(payload: Mapping[str, Any]) -> DeleteCommand:
    return DeleteCommand(_aircraft_id(payload), _version(payload))


def read_usage(payload: Mapping[str, Any]) -> UsageCommand:
    return UsageCommand(_aircraft_id(payload), _whole(payload, "flight_hours"), _whole(payload, "cycles"))


def parse_changes(raw: Mapping[str, Any]) -> dict[str, object]:
    """PATCH changes from their JSON form to typed values; unknown fields and wrong types are refused."""
    changes: dict[str, object] = {}
    for name, value in raw.items():
        if name not in EDITABLE:
            raise ValidationFailed.on_field(name, "unknown field")
        if value is None:
            if name not in NULLABLE:
                raise ValidationFailed.on_field(name, "must not be null")
            changes[name] = None
        elif name in NULLABLE:
            changes[name] = _timestamp(name, value)
        elif name == "status":
            changes[name] = _status(value)
        elif name == "capacity_slots":
            changes[name] = _whole(raw, name)
        elif isinstance(value, str):
            changes[name] = value
        else:
            raise ValidationFailed.on_field(name, "must be a string")
    return changes


def _aircraft_id(payload: Mapping[str, Any]) -> uuid.UUID:
    try:
        return uuid.UUID(str(payload["aircraft_id"]))
    except (KeyError, ValueError):
        raise ValidationFailed.on_field("aircraft_id", "must be a UUID") from None


def _status(value: object) -> AircraftStatus:
    if isinstance(value, str) and value in {status.value for status in AircraftStatus}:
        return AircraftStatus(value)
    allowed = ", ".join(status.value for status in AircraftStatus)
    raise ValidationFailed.on_field("status", f"must be one of {allowed}")
