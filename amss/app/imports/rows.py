"""One CSV row checked as the REST body it stands for: the same strict models, the same domain checks.

A row is turned into the JSON a client would send — cells trimmed, empty cells left out, the
numeric columns as JSON integers — and validated with the REST request model in strict mode
(amss/app/inputs.py), then by the checks the service itself runs first (`checked_new`,
`check_new_item`, the program's interval and last performance). Every problem names its CSV
column. The worker runs this when it stages a row and again when it applies it (the parsed row
is not stored, only its raw cells), so both see exactly one definition of a valid row.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import orjson
from pydantic import BaseModel, ValidationError

from amss.app.aircraft.ports import NewAircraft
from amss.app.aircraft.service import checked_new
from amss.app.imports.spec import SPECS, ImportSpec
from amss.app.inputs import AircraftCreate, PartDefinitionCreate, PartItemCreate, ProgramCreate, field_errors
from amss.app.parts.ports import NewPartDefinition
from amss.app.parts.service import normalized_definition_name
from amss.app.programs.ports import NewProgram
from amss.domain.aircraft import normalized_tail_number
from amss.domain.enums import ImportType
from amss.domain.errors import DomainError
from amss.domain.parts import check_new_item
from amss.domain.programs import check_interval, check_last_performed, normalized_name

_WHOLE: Final = re.compile(r"[+-]?[0-9]{1,30}")
# stands for the reference a row names by text (a definition, an aircraft) while its body is validated
_PLACEHOLDER: Final = uuid.UUID(int=0)
# a model field -> the CSV column it comes from, where the names differ
_COLUMN_OF: Final[dict[ImportType, dict[str, str]]] = {
    ImportType.AIRCRAFT: {},
    ImportType.PARTS: {"name": "part_name", "part_definition_id": "part_name"},
    ImportType.PROGRAMS: {"aircraft_id": "tail_number"},
}


@dataclass(frozen=True)
class AircraftRow:
    new: NewAircraft
    # the columns the row gives (an update changes only these)
    given: frozenset[str]


@dataclass(frozen=True)
class PartRow:
    definition: NewPartDefinition
    serial_number: str
    new_item: PartItemCreate
    given: frozenset[str]


@dataclass(frozen=True)
class ProgramRow:
    new: NewProgram
    # "" for a template
    tail_number: str
    given: frozenset[str]


ParsedRow = AircraftRow | PartRow | ProgramRow


@dataclass(frozen=True)
class CheckedRow:
    """A row's verdict: its parsed form (None when invalid) and each problem as `column: problem`."""

    parsed: ParsedRow | None
    errors: list[str]


def natural_key(spec: ImportSpec, raw: Mapping[str, str]) -> tuple[str, ...] | None:
    """The row's natural key as the database compares it (trimmed), None when a key cell is missing."""
    values = tuple(raw.get(column, "").strip() for column in spec.key)
    required = [value for column, value in zip(spec.key, values, strict=True) if column in spec.required]
    return values if all(required) else None


def problems_of(error: DomainError, import_type: ImportType, fallback_column: str) -> list[str]:
    """A domain error as row problems: one per field it names (as its CSV column), else one on `fallback_column`."""
    fields = error.details.get("fields") if isinstance(error.details, dict) else None
    if isinstance(fields, dict) and fields:
        return [f"{column_of(import_type, str(name))}: {problem}" for name, problem in fields.items()]
    return [f"{fallback_column}: {error.message}"]


def column_of(import_type: ImportType, field: str) -> str:
    return _COLUMN_OF[import_type].get(field, field)


def check_row(import_type: ImportType, raw: Mapping[str, str], now: datetime) -> CheckedRow:
    """The row checked as its REST body; `now` is the clock the expiry and last-performed rules compare with."""
    spec = SPECS[import_type]
    cells = {column: raw.get(column, "").strip() for column in spec.columns}
    given = frozenset(column for column, text in cells.items() if text)
    values: dict[str, object] = {}
    errors: list[str] = []
    for column in spec.columns:
        text = cells[column]
        if not text:
            continue
        if column in spec.integers:
            if not _WHOLE.fullmatch(text):
                errors.append(f"{column}: must be a whole number")
                continue
            # as JSON number text: a REST body may carry any size of number (orjson writes only 64 bits)
            values[column] = orjson.Fragment(str(int(text)))
        else:
            values[column] = text
    if import_type is ImportType.AIRCRAFT:
        return _aircraft(values, given, errors)
    if import_type is ImportType.PARTS:
        return _part(values, given, errors, now)
    return _program(values, given, errors, now)


def _validated(import_type: ImportType, model: type[BaseModel], body: dict[str, object], errors: list[str]) -> object:
    """`body` validated by `model` exactly as a REST body is (strict JSON); problems appended, None if any."""
    try:
        return model.model_validate_json(orjson.dumps(body), strict=True)
    except ValidationError as exc:
        errors.extend(f"{column_of(import_type, name)}: {problem}" for name, problem in field_errors(exc).items())
        return None


def _aircraft(values: dict[str, object], given: frozenset[str], errors: list[str]) -> CheckedRow:
    body = _validated(ImportType.AIRCRAFT, AircraftCreate, values, errors)
    if not isinstance(body, AircraftCreate) or errors:
        return CheckedRow(None, errors)
    try:
        new = checked_new(NewAircraft(**body.model_dump()))
    except DomainError as exc:
        return CheckedRow(None, problems_of(exc, ImportType.AIRCRAFT, "tail_number"))
    return CheckedRow(AircraftRow(new, given), [])


def _part(values: dict[str, object], given: frozenset[str], errors: list[str], now: datetime) -> CheckedRow:
    definition_body = {"name": values.get("part_name"), "category": values.get("category", "")}
    if definition_body["name"] is None:
        definition_body.pop("name")
    item_body: dict[str, object] = {
        name: values[name] for name in ("serial_number", "status", "expiry_date") if name in values
    }
    item_body["part_definition_id"] = str(_PLACEHOLDER)
    definition = _validated(ImportType.PARTS, PartDefinitionCreate, definition_body, errors)
    item = _validated(ImportType.PARTS, PartItemCreate, item_body, errors)
    if not isinstance(definition, PartDefinitionCreate) or not isinstance(item, PartItemCreate) or errors:
        return CheckedRow(None, errors)
    try:
        name = normalized_definition_name(definition.name)
        serial_number = check_new_item(item.serial_number, item.expiry_date, now, item.status)
    except DomainError as exc:
        return CheckedRow(None, problems_of(exc, ImportType.PARTS, "serial_number"))
    return CheckedRow(PartRow(NewPartDefinition(name, definition.category.strip()), serial_number, item, given), [])


def _program(values: dict[str, object], given: frozenset[str], errors: list[str], now: datetime) -> CheckedRow:
    body: dict[str, object] = {
        name: values[name] for name in ("name", "interval_type", "interval_value", "last_performed") if name in values
    }
    tail_number = str(values.get("tail_number", ""))
    if tail_number:
        body["aircraft_id"] = str(_PLACEHOLDER)
    program = _validated(ImportType.PROGRAMS, ProgramCreate, body, errors)
    if tail_number:
        try:
            tail_number = normalized_tail_number(tail_number)
        except DomainError as exc:
            errors.extend(problems_of(exc, ImportType.PROGRAMS, "tail_number"))
    if not isinstance(program, ProgramCreate) or errors:
        return CheckedRow(None, errors)
    try:
        name = normalized_name(program.name)
        check_interval(program.interval_type, program.interval_value)
        check_last_performed(program.last_performed, None, now)
    except DomainError as exc:
        return CheckedRow(None, problems_of(exc, ImportType.PROGRAMS, "name"))
    new = NewProgram(name, program.interval_type, program.interval_value, None, program.last_performed)
    return CheckedRow(ProgramRow(new, tail_number, given), [])
