"""The enum of every enum column; values are the specification's lower-case strings."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    TENANT_ADMIN = "tenant_admin"
    SCHEDULER = "scheduler"
    MECHANIC = "mechanic"
    AUDITOR = "auditor"


class AircraftStatus(StrEnum):
    OPERATIONAL = "operational"
    MAINTENANCE = "maintenance"
    GROUNDED = "grounded"


class GroundingOrigin(StrEnum):
    """Who grounded an aircraft: a person, or the task workflow (released by it again)."""

    MANUAL = "manual"
    TASK = "task"


class TaskType(StrEnum):
    INSPECTION = "inspection"
    REPAIR = "repair"
    OVERHAUL = "overhaul"


class TaskState(StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class PartItemStatus(StrEnum):
    IN_STOCK = "in_stock"
    USED = "used"
    DISPOSED = "disposed"


class ReservationState(StrEnum):
    RESERVED = "reserved"
    USED = "used"
    RELEASED = "released"


class IntervalType(StrEnum):
    FLIGHT_HOURS = "flight_hours"
    CYCLES = "cycles"
    CALENDAR = "calendar"


class ComplianceResult(StrEnum):
    PASS = "pass"  # noqa: S105 - a compliance result, not a password
    FAIL = "fail"
    PENDING = "pending"


class AuditAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    STATE_CHANGE = "state_change"


class WebhookDeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class ImportType(StrEnum):
    AIRCRAFT = "aircraft"
    PARTS = "parts"
    PROGRAMS = "programs"


class ImportStatus(StrEnum):
    PENDING = "pending"
    VALIDATING = "validating"
    APPLYING = "applying"
    COMPLETED = "completed"
    FAILED = "failed"


class ImportRowStatus(StrEnum):
    PENDING = "pending"
    VALID = "valid"
    INVALID = "invalid"
    APPLIED = "applied"


class CommandStatus(StrEnum):
    ACCEPTED = "accepted"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
