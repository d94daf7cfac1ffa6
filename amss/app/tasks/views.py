"""How maintenance tasks and compliance items look on the wire, for REST reads and command results alike.

The same rules as amss/app/views.py: JSON primitives only, ids as strings, timestamps RFC 3339
UTC with `Z`. A single task (create, read, PATCH, transition) is rendered with its reservations
and compliance items embedded, so a command's result is byte for byte what a read gives; a list
renders the tasks alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from amss.app.parts.views import part_reservation_view
from amss.app.views import utc_text
from amss.domain.compliance import ComplianceItem
from amss.domain.parts import PartReservation
from amss.domain.tasks import MaintenanceTask


def task_view(task: MaintenanceTask) -> dict[str, Any]:
    return {
        "id": str(task.id),
        "org_id": str(task.org_id),
        "aircraft_id": str(task.aircraft_id),
        "program_id": str(task.program_id) if task.program_id else None,
        "type": task.type.value,
        "state": task.state.value,
        "start_time": utc_text(task.start_time),
        "end_time": utc_text(task.end_time),
        "assigned_mechanic_id": str(task.assigned_mechanic_id) if task.assigned_mechanic_id else None,
        "notes": task.notes,
        "version": task.version,
        "created_at": utc_text(task.created_at),
        "updated_at": utc_text(task.updated_at),
    }


def reservation_summary(reservation: PartReservation) -> dict[str, Any]:
    """A reservation embedded in its task: the reservation's own view without the repeated org_id."""
    view = part_reservation_view(reservation)
    del view["org_id"]
    return view


def compliance_view(item: ComplianceItem) -> dict[str, Any]:
    return {
        "id": str(item.id),
        "org_id": str(item.org_id),
        "task_id": str(item.task_id),
        "description": item.description,
        "result": item.result.value,
        "signed_off": item.signed_off,
        "sign_off_user_id": str(item.sign_off_user_id) if item.sign_off_user_id else None,
        "sign_off_time": utc_text(item.sign_off_time),
        "version": item.version,
        "created_at": utc_text(item.created_at),
        "updated_at": utc_text(item.updated_at),
    }


def task_detail_view(
    task: MaintenanceTask, reservations: Sequence[PartReservation], compliance_items: Sequence[ComplianceItem]
) -> dict[str, Any]:
    return {
        **task_view(task),
        "reservations": [reservation_summary(reservation) for reservation in reservations],
        "compliance_items": [compliance_view(item) for item in compliance_items],
    }


def task_detail_body(
    task: MaintenanceTask, reservations: Sequence[PartReservation], compliance_items: Sequence[ComplianceItem]
) -> bytes:
    return orjson.dumps(task_detail_view(task, reservations, compliance_items))


def compliance_body(item: ComplianceItem) -> bytes:
    return orjson.dumps(compliance_view(item))
