"""The one place that turns Postgres constraint and trigger violations into domain errors.

SQLSTATE 23P01 (exclusion), 23505 (unique), 23503 (foreign key), 23514 (check), every class 22
data exception (a NUL in text, an out-of-range number or timestamp, a malformed value) and the
triggers' own AMS0x codes (see migrations/00007_triggers.sql) each become the domain error a
client should see: a friendly 409 or 400, never a 500. Class 22 is a second wall: the API
refuses such values before they reach the database; only the server's class-22 errors count
(asyncpg's own encoding errors are our bugs).
"""

from __future__ import annotations

from typing import Final

import asyncpg

from amss.domain.errors import Conflict, DomainError, Immutable, ScheduleOverlap, ValidationFailed

AUDIT_LOG_IMMUTABLE = "AMS01"
COMPLIANCE_SIGNED_IMMUTABLE = "AMS02"
PART_EXPIRY_NOT_FUTURE = "AMS03"
PART_ITEM_UNAVAILABLE = "AMS04"

DATA_EXCEPTION_CLASS: Final = "22"
# class 22 SQLSTATE -> what is wrong with the value (anything else in the class: _DATA_EXCEPTION)
_DATA_EXCEPTIONS: Final[dict[str, str]] = {
    "22021": "text must not contain the NUL character or bytes invalid in UTF-8",
    "22P05": "text holds a character the database cannot store",
    "22008": "a timestamp is out of range",
    "22007": "a timestamp is malformed",
    "22003": "a number is out of range",
    "22001": "a text is too long",
    "22P02": "a value has the wrong form for its field",
    "22023": "a value is not valid for its field",
}
_DATA_EXCEPTION: Final = "a value cannot be stored as given"

# unique constraint / index name -> (field, message)
_UNIQUE: dict[str, tuple[str, str]] = {
    "organizations_name_key": ("name", "an organization with this name already exists"),
    "users_org_email_live_key": ("email", "a user with this email already exists in the organization"),
    "aircraft_org_tail_number_live_key": ("tail_number", "an aircraft with this tail number already exists"),
    "part_definitions_org_name_live_key": ("name", "a part definition with this name already exists"),
    "part_items_org_serial_live_key": ("serial_number", "a part item with this serial number already exists"),
    "maintenance_programs_org_name_aircraft_live_key": (
        "name",
        "a program with this name already exists for the aircraft",
    ),
    "part_reservations_one_active_per_item": ("part_item_id", "the part item is already reserved"),
    "webhook_deliveries_once_per_event": ("event_id", "the event is already queued for this webhook"),
    "import_rows_import_row_number_key": ("row_number", "the row is already staged"),
    "outbox_events_org_dedupe_key": ("dedupe_key", "the event was already recorded"),
}

# foreign key constraint -> the field that names the missing object
_FOREIGN_KEY_FIELDS: dict[str, str] = {
    "maintenance_tasks_aircraft_fk": "aircraft_id",
    "maintenance_tasks_program_fk": "program_id",
    "maintenance_tasks_mechanic_fk": "assigned_mechanic_id",
    "maintenance_programs_aircraft_fk": "aircraft_id",
    "part_items_definition_fk": "part_definition_id",
    "part_reservations_task_fk": "task_id",
    "part_reservations_part_item_fk": "part_item_id",
    "compliance_items_task_fk": "task_id",
    "compliance_items_sign_off_user_fk": "sign_off_user_id",
    "audit_logs_user_fk": "user_id",
    "imports_created_by_fk": "created_by",
    "refresh_tokens_user_fk": "user_id",
    "webhook_deliveries_webhook_fk": "webhook_id",
    "webhook_deliveries_event_fk": "event_id",
    "import_rows_import_fk": "import_id",
}


def translate(exc: asyncpg.PostgresError) -> DomainError | None:
    """The domain error a constraint or trigger violation stands for, or None for anything else."""
    sqlstate = getattr(exc, "sqlstate", None)
    constraint = getattr(exc, "constraint_name", None) or ""
    message = getattr(exc, "message", None) or str(exc)
    if sqlstate == "23P01":
        if constraint == "maintenance_tasks_no_overlap":
            return ScheduleOverlap("the task window overlaps an active task of the same aircraft")
        return Conflict("the change conflicts with an existing record")
    if sqlstate == "23505":
        unique_field, text = _UNIQUE.get(constraint, ("", "a record with the same unique value already exists"))
        return Conflict(text, {"field": unique_field} if unique_field else {})
    if sqlstate == "23503":
        if "is still referenced" in message:
            return Conflict("the record is still referenced by other records")
        reference_field = _FOREIGN_KEY_FIELDS.get(constraint)
        if reference_field:
            return ValidationFailed.on_field(reference_field, "does not exist in this organization")
        return ValidationFailed("a referenced record does not exist in this organization")
    if sqlstate == "23514":
        return ValidationFailed(
            f"the values break the rule {constraint or 'of a check constraint'}", {"constraint": constraint}
        )
    if sqlstate == "23502":
        column = getattr(exc, "column_name", None) or "a field"
        return ValidationFailed.on_field(column, "required")
    if sqlstate is not None and sqlstate.startswith(DATA_EXCEPTION_CLASS) and _reported_by_server(exc):
        return _data_exception(sqlstate, getattr(exc, "column_name", None))
    if sqlstate in (AUDIT_LOG_IMMUTABLE, COMPLIANCE_SIGNED_IMMUTABLE):
        return Immutable(message)
    if sqlstate == PART_EXPIRY_NOT_FUTURE:
        return ValidationFailed.on_field("expiry_date", "must be in the future")
    if sqlstate == PART_ITEM_UNAVAILABLE:
        return Conflict(message, {"field": "part_item_id"})
    return None


def _reported_by_server(exc: asyncpg.PostgresError) -> bool:
    """Postgres refused a value it was sent (severity set). asyncpg raises class-22 errors of its own
    (`DataError`, no severity) when it cannot even encode an argument: that is a value our code built
    wrongly, a bug to surface as 500, not the client's fault."""
    return getattr(exc, "severity", None) is not None


def _data_exception(sqlstate: str, column: str | None) -> ValidationFailed:
    """A 400 for a value Postgres refused; the server's own message (which may quote it) stays out."""
    problem = _DATA_EXCEPTIONS.get(sqlstate, _DATA_EXCEPTION)
    if column:
        return ValidationFailed(f"{column}: {problem}", {"fields": {column: problem}, "sqlstate": sqlstate})
    return ValidationFailed(f"invalid value: {problem}", {"sqlstate": sqlstate})


class PgErrorTranslator:
    """The ErrorTranslator port: `translate` for a Postgres error, None for any other."""

    def translate(self, error: Exception) -> DomainError | None:
        return translate(error) if isinstance(error, asyncpg.PostgresError) else None
