"""What each import type's file holds: its columns, the required ones, the numeric ones and its natural key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from amss.domain.enums import ImportType


@dataclass(frozen=True)
class ImportSpec:
    type: ImportType
    # every column the header may name, in the documented order (docs/imports.md)
    columns: tuple[str, ...]
    # the columns a header must name
    required: frozenset[str]
    # cells read as whole numbers (JSON integers) before the body is validated
    integers: frozenset[str]
    # the columns of the natural key a row is upserted by
    key: tuple[str, ...]


SPECS: Final[dict[ImportType, ImportSpec]] = {
    ImportType.AIRCRAFT: ImportSpec(
        ImportType.AIRCRAFT,
        ("tail_number", "model", "status", "capacity_slots", "last_maintenance", "next_due"),
        frozenset({"tail_number", "model"}),
        frozenset({"capacity_slots"}),
        ("tail_number",),
    ),
    ImportType.PARTS: ImportSpec(
        ImportType.PARTS,
        ("part_name", "category", "serial_number", "status", "expiry_date"),
        frozenset({"part_name", "serial_number"}),
        frozenset(),
        ("serial_number",),
    ),
    ImportType.PROGRAMS: ImportSpec(
        ImportType.PROGRAMS,
        ("name", "tail_number", "interval_type", "interval_value", "last_performed"),
        frozenset({"name", "interval_type", "interval_value"}),
        frozenset({"interval_value"}),
        ("name", "tail_number"),
    ),
}


def import_type(value: str) -> ImportType | None:
    try:
        return ImportType(value)
    except ValueError:
        return None
