"""Aircraft commands: writes to an existing aircraft (update, delete, usage, the grounding check), in its actor."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field, StrictInt, StrictStr, field_validator
from pydantic_core import PydanticCustomError

from amss.app.commands.base import AircraftCommand, CommandModel, Instant, Version
from amss.domain.enums import AircraftStatus


class AircraftChanges(CommandModel):
    """A PATCH's given fields (already normalised by `checked_changes`); only the two dates may be null."""

    tail_number: StrictStr | None = None
    model: StrictStr | None = None
    status: AircraftStatus | None = None
    capacity_slots: StrictInt | None = None
    last_maintenance: Instant | None = None
    next_due: Instant | None = None

    @field_validator("tail_number", "model", "status", "capacity_slots", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("null", "must not be null")
        return value

    def changes(self) -> dict[str, object]:
        """The given fields as the service takes them: name -> typed value (None clears a date)."""
        return {name: getattr(self, name) for name in type(self).model_fields if name in self.model_fields_set}


class UpdateAircraft(AircraftCommand):
    TYPE: ClassVar[str] = "aircraft.update"
    changes: AircraftChanges
    expected_version: Version | None = None


class DeleteAircraft(AircraftCommand):
    TYPE: ClassVar[str] = "aircraft.delete"
    expected_version: Version | None = None


class RecordAircraftUsage(AircraftCommand):
    TYPE: ClassVar[str] = "aircraft.usage"
    flight_hours: StrictInt = Field(ge=0)
    cycles: StrictInt = Field(ge=0)


class ApplyGrounding(AircraftCommand):
    """The periodic grounding check (a worker job): apply the automatic grounding rules now."""

    TYPE: ClassVar[str] = "aircraft.apply_grounding"
