"""Request bodies every front validates the same way: strict models of what creates an aircraft, a part or a program.

REST reads them from JSON bodies (amss/api/rest), the CSV import from the cells of a row
(amss/app/imports/rows.py): one definition of what a valid aircraft, part definition, part item
or maintenance program is, so an imported row passes exactly when the same REST body would.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, WithJsonSchema

from amss.domain.aircraft import MAX_COUNTER
from amss.domain.enums import AircraftStatus, IntervalType, PartItemStatus
from amss.domain.timestamps import RANGE_TEXT, YEAR_PATTERN, range_problem


class Body(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


def field_errors(exc: ValidationError) -> dict[str, str]:
    """Each failing field (dotted path) -> what is wrong with it, in the words every front uses."""
    fields: dict[str, str] = {}
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "body"
        kind = error["type"]
        if kind == "missing":
            fields[name] = "required"
        elif kind == "extra_forbidden":
            fields[name] = "unknown field"
        elif kind == "timezone_aware":
            fields[name] = "timestamp needs a time zone offset (RFC 3339)"
        else:
            fields[name] = str(error["msg"]).removeprefix("Value error, ")
    return fields


def _in_range(value: datetime) -> datetime:
    problem = range_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()


# Every timestamp a request carries (body field or query filter): RFC 3339 with an offset, in range.
Timestamp = Annotated[
    AwareDatetime,
    AfterValidator(_in_range),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": YEAR_PATTERN,
            "description": f"RFC 3339 with an offset; the instant must be {RANGE_TEXT}",
        }
    ),
]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(lambda v: _not_blank(v))]

TailNumber = Annotated[str, Field(min_length=1, max_length=32)]
Category = Annotated[str, Field(max_length=200)]
SerialNumber = Annotated[str, Field(min_length=1, max_length=200)]
IntervalValue = Annotated[int, Field(gt=0, le=2_147_483_647)]
Usage = Annotated[int, Field(ge=0, le=2_147_483_647)]


class AircraftCreate(Body):
    tail_number: TailNumber
    model: Name
    status: AircraftStatus = AircraftStatus.OPERATIONAL
    capacity_slots: int = Field(default=1, ge=1, le=MAX_COUNTER)
    last_maintenance: Timestamp | None = None
    next_due: Timestamp | None = None


class PartDefinitionCreate(Body):
    name: Name
    category: Category = ""


class PartItemCreate(Body):
    part_definition_id: uuid.UUID
    serial_number: SerialNumber
    expiry_date: Timestamp | None = None
    status: PartItemStatus = Field(
        default=PartItemStatus.IN_STOCK,
        description="in_stock (default), or used / disposed to record existing inventory",
    )


class ProgramCreate(Body):
    name: Name
    interval_type: IntervalType
    interval_value: IntervalValue
    # omitted: a template, never generating tasks
    aircraft_id: uuid.UUID | None = None
    last_performed: Timestamp | None = None
    last_performed_usage: Usage | None = None
