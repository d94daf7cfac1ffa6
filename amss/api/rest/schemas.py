"""Shared pieces of request and response models: strict bodies, timestamps, e-mail and password fields."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from amss.app.inputs import Body, Name, Timestamp
from amss.auth.passwords import MAX_PASSWORD_BYTES, MIN_PASSWORD_LENGTH, password_problem

__all__ = ["Body", "Email", "FilterText", "Name", "Out", "Password", "Timestamp"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


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
# a text filter of a list query: no stored value it could match is longer
FilterText = Annotated[str, Field(max_length=254)]
