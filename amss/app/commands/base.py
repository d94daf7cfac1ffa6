"""What every typed command shares: a frozen pydantic model with a type name, its JSON, and its actor.

A command is built once at the edge (a REST body, a job) from values already checked there; the
command row and the stream carry `payload()`; the worker reads it back once with `parse_payload`.
Fields are strict where JSON could be coerced (a "2" is no version, a 1 no boolean).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Final, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    ValidationError,
)
from pydantic_core import PydanticCustomError

from amss.domain.errors import ValidationFailed
from amss.domain.principal import Actor
from amss.domain.timestamps import range_problem
from amss.domain.versioning import MAX_VERSION

AIRCRAFT: Final = "aircraft"
PART: Final = "part"


def aircraft_actor(org_id: uuid.UUID, aircraft_id: uuid.UUID) -> str:
    """The actor that serialises every write to one aircraft's schedule."""
    return f"{AIRCRAFT}:{org_id}:{aircraft_id}"


def part_actor(org_id: uuid.UUID, part_item_id: uuid.UUID) -> str:
    """The actor that serialises every write to one part item's availability."""
    return f"{PART}:{org_id}:{part_item_id}"


def _text_or_time(value: object) -> object:
    """A timestamp is RFC 3339 text (or a datetime already), never a number of seconds."""
    if not isinstance(value, str | datetime):
        raise PydanticCustomError("timestamp", "not an RFC 3339 timestamp")
    return value


def _accepted(value: datetime) -> datetime:
    problem = range_problem(value)
    if problem:
        raise PydanticCustomError("timestamp_range", problem)
    return value.astimezone(UTC)


# an aware timestamp within the domain's range (amss.domain.timestamps), carried in UTC
Instant = Annotated[AwareDatetime, BeforeValidator(_text_or_time), AfterValidator(_accepted)]
# an If-Match version, within the version columns' range
Version = Annotated[StrictInt, Field(ge=0, le=MAX_VERSION)]


class CommandModel(BaseModel):
    """One command type's validated content (who asks and where it travels are the envelope's)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    TYPE: ClassVar[str]

    def actor(self, org_id: uuid.UUID) -> str:
        """The actor the command runs in: the one place a command type says where it runs."""
        raise NotImplementedError

    def payload(self) -> dict[str, Any]:
        """The JSON the command row and stream carry; fields left out stay left out (a PATCH's unset)."""
        return self.model_dump(mode="json", exclude_unset=True)


class AircraftCommand(CommandModel):
    """A command that runs in its aircraft's actor (`aircraft_id`: for a task's, the task's aircraft)."""

    aircraft_id: uuid.UUID

    def actor(self, org_id: uuid.UUID) -> str:
        return aircraft_actor(org_id, self.aircraft_id)


class PartItemCommand(CommandModel):
    """A command that runs in its part item's actor."""

    part_item_id: uuid.UUID

    def actor(self, org_id: uuid.UUID) -> str:
        return part_actor(org_id, self.part_item_id)


@dataclass(frozen=True)
class Issuer:
    """Who submitted a command, and for which organization (from the envelope)."""

    org_id: uuid.UUID
    actor: Actor


M = TypeVar("M", bound=CommandModel)


def parse_payload(model: type[M], payload: Any) -> M:
    """A stored payload read back into its model; a malformed one is a validation error naming the field."""
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        error = exc.errors()[0]
        names = [part for part in error["loc"] if isinstance(part, str)]
        raise ValidationFailed.on_field(names[-1] if names else "payload", error["msg"]) from None
