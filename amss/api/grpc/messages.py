"""Messages <-> the values the typed commands and views use: ids, enums, timestamps, text.

Views (amss/app/task_views.py, views.py: JSON primitives) become messages field by field; request
fields become command fields, refused with VALIDATION_ERROR naming the field as REST names it (a
malformed id, an `_UNSPECIFIED` or unknown enum value, a missing or out-of-range timestamp, text with
a NUL character or over its length).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Final, TypeVar

from google.protobuf import struct_pb2, timestamp_pb2
from google.protobuf.message import Message

from amss.api.grpc.gen import amss_pb2 as pb
from amss.domain.audit import AuditRecord
from amss.domain.enums import AuditAction, ComplianceResult, ReservationState, TaskState, TaskType
from amss.domain.errors import ValidationFailed
from amss.domain.timestamps import range_problem

E = TypeVar("E", bound=StrEnum)
MAX_NOTES: Final = 10_000
_PREFIXES: Final[dict[type[StrEnum], str]] = {
    TaskType: "TASK_TYPE_",
    TaskState: "TASK_STATE_",
    ReservationState: "RESERVATION_STATE_",
    ComplianceResult: "COMPLIANCE_RESULT_",
    AuditAction: "AUDIT_ACTION_",
}
_ENUM_TYPES: Final[dict[type[StrEnum], Any]] = {
    TaskType: pb.TaskType,
    TaskState: pb.TaskState,
    ReservationState: pb.ReservationState,
    ComplianceResult: pb.ComplianceResult,
    AuditAction: pb.AuditAction,
}


# --- requests -> values ---------------------------------------------------------------------------


def refuse_nul(message: Message, path: str = "") -> None:
    """No string anywhere in a request may hold a NUL character (Postgres text cannot)."""
    for descriptor, value in message.ListFields():
        name = f"{path}{descriptor.name}"
        repeated = not isinstance(value, str | bytes | Message) and hasattr(value, "__len__")
        values = value if repeated else [value]
        for item in values:
            if isinstance(item, str) and "\x00" in item:
                raise ValidationFailed.on_field(name, "must not contain NUL characters")
            if isinstance(item, Message):
                refuse_nul(item, f"{name}.")


def parse_id(value: str, field: str) -> uuid.UUID:
    if not value:
        raise ValidationFailed.on_field(field, "required")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ValidationFailed.on_field(field, "must be a UUID") from None


def parse_optional_id(message: Message, field: str) -> uuid.UUID | None:
    if not message.HasField(field):
        return None
    return parse_id(getattr(message, field), field)


def parse_enum(enum: type[E], number: int, field: str) -> E:
    """A proto enum number as the domain's enum; 0 (`_UNSPECIFIED`) and unknown numbers are refused."""
    allowed = ", ".join(_PREFIXES[enum] + member.value.upper() for member in enum)
    proto = _ENUM_TYPES[enum]
    if number == 0 or number not in proto.values():
        raise ValidationFailed.on_field(field, f"must be one of {allowed}")
    name: str = proto.Name(number)
    return enum(name.removeprefix(_PREFIXES[enum]).lower())


def parse_time(message: Message, field: str) -> datetime:
    if not message.HasField(field):
        raise ValidationFailed.on_field(field, "required")
    stamp: timestamp_pb2.Timestamp = getattr(message, field)
    try:
        value = stamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise ValidationFailed.on_field(field, "not a representable timestamp") from None
    problem = range_problem(value)
    if problem:
        raise ValidationFailed.on_field(field, problem)
    return value


def parse_notes(message: Message, field: str = "notes") -> str | None:
    if not message.HasField(field):
        return None
    text: str = getattr(message, field)
    if len(text) > MAX_NOTES:
        raise ValidationFailed.on_field(field, f"at most {MAX_NOTES} characters")
    return text


# --- views -> messages ----------------------------------------------------------------------------


def enum_number(enum: type[StrEnum], value: str) -> int:
    number: int = _ENUM_TYPES[enum].Value(_PREFIXES[enum] + value.upper())
    return number


def timestamp(text: str | None) -> timestamp_pb2.Timestamp | None:
    if text is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(datetime.fromisoformat(text.replace("Z", "+00:00")))
    return stamp


def reservation_message(view: dict[str, Any], org_id: str | None = None) -> pb.PartReservation:
    return pb.PartReservation(
        id=view["id"],
        org_id=view.get("org_id") or org_id or "",
        task_id=view["task_id"],
        part_item_id=view["part_item_id"],
        state=enum_number(ReservationState, view["state"]),  # type: ignore[arg-type]
        quantity=view["quantity"],
        version=view["version"],
        created_at=timestamp(view["created_at"]),
        updated_at=timestamp(view["updated_at"]),
    )


def compliance_message(view: dict[str, Any]) -> pb.ComplianceItem:
    return pb.ComplianceItem(
        id=view["id"],
        org_id=view["org_id"],
        task_id=view["task_id"],
        description=view["description"],
        result=enum_number(ComplianceResult, view["result"]),  # type: ignore[arg-type]
        signed_off=view["signed_off"],
        sign_off_user_id=view["sign_off_user_id"],
        sign_off_time=timestamp(view["sign_off_time"]),
        version=view["version"],
        created_at=timestamp(view["created_at"]),
        updated_at=timestamp(view["updated_at"]),
    )


def task_message(view: dict[str, Any]) -> pb.Task:
    """A task as REST's GET /maintenance-tasks/{id} shows it (its reservations and compliance items included)."""
    return pb.Task(
        id=view["id"],
        org_id=view["org_id"],
        aircraft_id=view["aircraft_id"],
        program_id=view["program_id"],
        type=enum_number(TaskType, view["type"]),  # type: ignore[arg-type]
        state=enum_number(TaskState, view["state"]),  # type: ignore[arg-type]
        start_time=timestamp(view["start_time"]),
        end_time=timestamp(view["end_time"]),
        assigned_mechanic_id=view["assigned_mechanic_id"],
        notes=view["notes"],
        version=view["version"],
        created_at=timestamp(view["created_at"]),
        updated_at=timestamp(view["updated_at"]),
        reservations=[reservation_message(item, view["org_id"]) for item in view.get("reservations", ())],
        compliance_items=[compliance_message(item) for item in view.get("compliance_items", ())],
    )


def struct_of(values: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def audit_message(record: AuditRecord) -> pb.AuditLogEntry:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(record.timestamp.astimezone(UTC))
    return pb.AuditLogEntry(
        id=str(record.id),
        org_id=str(record.org_id),
        entity_type=record.entity_type,
        entity_id=str(record.entity_id),
        action=enum_number(AuditAction, record.action.value),  # type: ignore[arg-type]
        user_id=str(record.user_id) if record.user_id else None,
        request_id=str(record.request_id) if record.request_id else None,
        ip_address=record.ip_address,
        user_agent=record.user_agent,
        entity_version=record.entity_version,
        timestamp=stamp,
        details=struct_of(record.details),
    )
