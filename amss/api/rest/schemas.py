"""Shared pieces of request and response models: strict bodies, timestamps, e-mail and password fields."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, WithJsonSchema

from amss.auth.passwords import MAX_PASSWORD_BYTES, MIN_PASSWORD_LENGTH, password_problem
from amss.domain.timestamps import RANGE_TEXT, YEAR_PATTERN, range_problem

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Body(BaseModel):
    """A request body: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    """A response body, built from a domain object's attributes."""

    model_config = ConfigDict(from_attributes=True)


def _email(value: str) -> str:
    value = value.strip()
    if not _EMAIL.match(value):
        raise ValueError("not an e-mail address")
    return value


def _password(value: str) -> str:
    problem = password_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _in_range(value: datetime) -> datetime:
    problem = range_problem(value)
    if problem:
        raise ValueError(problem)
    return value


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
Email = Annotated[
    str,
    Field(min_length=3, max_length=254, json_schema_extra={"format": "email", "pattern": _EMAIL.pattern}),
    AfterValidator(_email),
]
# documented in characters: any string this long fits MAX_PASSWORD_BYTES in UTF-8
Password = Annotated[
    str,
    Field(
        json_schema_extra={
            "minLength": MIN_PASSWORD_LENGTH,
            "maxLength": MAX_PASSWORD_BYTES // 4,
            "description": f"{MIN_PASSWORD_LENGTH} characters to {MAX_PASSWORD_BYTES} bytes of UTF-8",
        }
    ),
    AfterValidator(_password),
]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(lambda v: _not_blank(v))]
# a text filter of a list query: no stored value it could match is longer
FilterText = Annotated[str, Field(max_length=254)]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value.strip()
