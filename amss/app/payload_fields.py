"""Reading command payloads back: one checked reader per kind of field, shared by every command type.

A payload is JSON the API wrote, but it is read as untrusted input all the same: each reader
raises ValidationFailed naming the field.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from amss.domain.errors import ValidationFailed
from amss.domain.timestamps import check_timestamp
from amss.domain.versioning import MAX_VERSION

E = TypeVar("E", bound=Enum)


def read_uuid(payload: Mapping[str, Any], name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(payload[name]))
    except (KeyError, ValueError):
        raise ValidationFailed.on_field(name, "must be a UUID") from None


def read_optional_uuid(payload: Mapping[str, Any], name: str) -> uuid.UUID | None:
    if payload.get(name) is None:
        return None
    return read_uuid(payload, name)


def read_whole(values: Mapping[str, Any], name: str) -> int:
    value = values.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationFailed.on_field(name, "must be a whole number")
    return value


def read_expected_version(payload: Mapping[str, Any]) -> int | None:
    """The If-Match version the client sent, or None; within the version columns' range."""
    if payload.get("expected_version") is None:
        return None
    version = read_whole(payload, "expected_version")
    if not 0 <= version <= MAX_VERSION:
        raise ValidationFailed.on_field("expected_version", f"must be a whole number from 0 to {MAX_VERSION}")
    return version


def read_text(payload: Mapping[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str):
        raise ValidationFailed.on_field(name, "must be a string")
    return value


def read_enum(kind: type[E], value: object, name: str) -> E:
    allowed = [str(member.value) for member in kind]
    if isinstance(value, str) and value in allowed:
        return kind(value)
    raise ValidationFailed.on_field(name, f"must be one of {', '.join(allowed)}")


def read_timestamp(name: str, value: object) -> datetime:
    """An RFC 3339 timestamp with an offset, within the accepted range (amss.domain.timestamps)."""
    if not isinstance(value, str):
        raise ValidationFailed.on_field(name, "not an RFC 3339 timestamp")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed.on_field(name, "not an RFC 3339 timestamp") from None
    check_timestamp(name, parsed)
    return parsed
