"""Task and compliance-item commands: the types and JSON payloads the REST layer submits and the
aircraft's actor (`aircraft:{org_id}:{aircraft_id}`) executes.

A payload is plain JSON (stored on the command row, possibly executed by another process): ids
and timestamps as text. `*_payload` builds one, `read_*` reads it back, refusing anything
malformed as a validation error.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from amss.app.payload_fields import read_enum as _enum
from amss.app.payload_fields import read_expected_version as _version
from amss.app.payload_fields import read_optional_uuid as _optional_uuid
from amss.app.payload_fields import read_text as _text
from amss.app.payload_fields import read_timestamp as _timestamp
from amss.app.payload_fields import read_uuid as _uuid
from amss.app.tasks_ports import NewTask
from amss.app.views import utc_text
from amss.domain.enums import ComplianceResult, TaskState, TaskType
from amss.domain.errors import ValidationFailed
from amss.domain.tasks import TaskPatch
from amss.domain.versioning import Unset

CREATE: Final = "task.create"
UPDATE: Final = "task.update"
TRANSITION: Final = "task.transition"
DELETE: Final = "task.delete"
COMPLIANCE_CREATE: Final = "compliance.create"
COMPLIANCE_UPDATE: Final = "compliance.update"
COMPLIANCE_SIGN_OFF: Final = "compliance.sign_off"

E = TypeVar("E", TaskType, TaskState, ComplianceResult)

PATCHABLE: Final = ("type", "start_time", "end_time", "assigned_mechanic_id", "notes")


@dataclass(frozen=True)
class UpdateCommand:
    task_id: uuid.UUID
    patch: TaskPatch
    expected_version: int | None


@dataclass(frozen=True)
class TransitionCommand:
    task_id: uuid.UUID
    state: TaskState
    notes: str | None
    override: bool


@dataclass(frozen=True)
class DeleteCommand:
    task_id: uuid.UUID
    expected_version: int | None


@dataclass(frozen=True)
class ComplianceCreateCommand:
    task_id: uuid.UUID
    description: str


@dataclass(frozen=True)
class ComplianceUpdateCommand:
    item_id: uuid.UUID
    description: str
    expected_version: int | None


@dataclass(frozen=True)
class SignOffCommand:
    item_id: uuid.UUID
    result: ComplianceResult


def _id_text(value: uuid.UUID | None) -> str | None:
    return str(value) if value is not None else None


def create_payload(new: NewTask) -> dict[str, Any]:
    return {
        "aircraft_id": str(new.aircraft_id),
        "type": new.type.value,
        "start_time": utc_text(new.start_time),
        "end_time": utc_text(new.end_time),
        "program_id": _id_text(new.program_id),
        "assigned_mechanic_id": _id_text(new.assigned_mechanic_id),
        "notes": new.notes,
    }


def update_payload(task_id: uuid.UUID, changes: Mapping[str, Any], expected_version: int | None) -> dict[str, Any]:
    """`changes` as JSON (the PATCH body's given fields)."""
    return {"task_id": str(task_id), "changes": dict(changes), "expected_version": expected_version}


def transition_payload(task_id: uuid.UUID, state: TaskState, notes: str | None, override: bool) -> dict[str, Any]:
    return {"task_id": str(task_id), "state": state.value, "notes": notes, "override": override}


def delete_payload(task_id: uuid.UUID, expected_version: int | None) -> dict[str, Any]:
    return {"task_id": str(task_id), "expected_version": expected_version}


def compliance_create_payload(task_id: uuid.UUID, description: str) -> dict[str, Any]:
    return {"task_id": str(task_id), "description": description}


def compliance_update_payload(item_id: uuid.UUID, description: str, expected_version: int | None) -> dict[str, Any]:
    return {"item_id": str(item_id), "description": description, "expected_version": expected_version}


def sign_off_payload(item_id: uuid.UUID, result: ComplianceResult) -> dict[str, Any]:
    return {"item_id": str(item_id), "result": result.value}


def read_create(payload: Mapping[str, Any]) -> NewTask:
    notes = payload.get("notes")
    if notes is not None and not isinstance(notes, str):
        raise ValidationFailed.on_field("notes", "must be a string")
    return NewTask(
        aircraft_id=_uuid(payload, "aircraft_id"),
        type=_enum(TaskType, payload.get("type"), "type"),
        start_time=_timestamp("start_time", payload.get("start_time")),
        end_time=_timestamp("end_time", payload.get("end_time")),
        program_id=_optional_uuid(payload, "program_id"),
        assigned_mechanic_id=_optional_uuid(payload, "assigned_mechanic_id"),
        notes=notes,
    )


def read_update(payload: Mapping[str, Any]) -> UpdateCommand:
    raw = payload.get("changes")
    if not isinstance(raw, dict):
        raise ValidationFailed.on_field("changes", "must be an object")
    return UpdateCommand(_uuid(payload, "task_id"), parse_patch(raw), _version(payload))


def read_transition(payload: Mapping[str, Any]) -> TransitionCommand:
    notes = payload.get("notes")
    if notes is not None and not isinstance(notes, str):
        raise ValidationFailed.on_field("notes", "must be a string")
    override = payload.get("override", False)
    if not isinstance(override, bool):
        raise ValidationFailed.on_field("override", "must be true or false")
    return TransitionCommand(
        _uuid(payload, "task_id"), _enum(TaskState, payload.get("state"), "state"), notes, override
    )


def read_delete(payload: Mapping[str, Any]) -> DeleteCommand:
    return DeleteCommand(_uuid(payload, "task_id"), _version(payload))


def read_compliance_create(payload: Mapping[str, Any]) -> ComplianceCreateCommand:
    return ComplianceCreateCommand(_uuid(payload, "task_id"), _text(payload, "description"))


def read_compliance_update(payload: Mapping[str, Any]) -> ComplianceUpdateCommand:
    return ComplianceUpdateCommand(_uuid(payload, "item_id"), _text(payload, "description"), _version(payload))


def read_sign_off(payload: Mapping[str, Any]) -> SignOffCommand:
    return SignOffCommand(_uuid(payload, "item_id"), _enum(ComplianceResult, payload.get("result"), "result"))


def parse_patch(raw: Mapping[str, Any]) -> TaskPatch:
    """PATCH changes from their JSON form to a TaskPatch; unknown fields and wrong types are refused."""
    unknown = sorted(set(raw) - set(PATCHABLE))
    if unknown:
        raise ValidationFailed.on_field(unknown[0], "unknown field")
    values: dict[str, Any] = {}
    if "type" in raw:
        values["type"] = _enum(TaskType, raw["type"], "type")
    for name in ("start_time", "end_time"):
        if name in raw:
            if raw[name] is None:
                raise ValidationFailed.on_field(name, "must not be null")
            values[name] = _timestamp(name, raw[name])
    if "assigned_mechanic_id" in raw:
        values["assigned_mechanic_id"] = _optional_uuid(raw, "assigned_mechanic_id")
    if "notes" in raw:
        notes = raw["notes"]
        if notes is not None and not isinstance(notes, str):
            raise ValidationFailed.on_field("notes", "must be a string")
        values["notes"] = notes
    return TaskPatch(**values)


def patch_is_empty(patch: TaskPatch) -> bool:
    return all(isinstance(getattr(patch, name), Unset) for name in PATCHABLE)
