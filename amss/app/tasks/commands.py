"""Task and compliance-item commands; each runs in the actor of the task's aircraft.

A task never moves to another aircraft, nor a compliance item to another task: the front resolves
`aircraft_id` once when it builds the command, and `actor()` derives the actor from it.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Final

from pydantic import StrictBool, StrictStr, field_validator
from pydantic_core import PydanticCustomError

from amss.app.commands.base import AircraftCommand, CommandModel, Instant, Version
from amss.app.tasks.ports import NewTask
from amss.domain.enums import ComplianceResult, TaskState, TaskType
from amss.domain.tasks import TaskPatch

Notes = StrictStr | None
PATCHABLE: Final = ("type", "start_time", "end_time", "assigned_mechanic_id", "notes")


class CreateTask(AircraftCommand):
    TYPE: ClassVar[str] = "task.create"
    type: TaskType
    start_time: Instant
    end_time: Instant
    program_id: uuid.UUID | None = None
    assigned_mechanic_id: uuid.UUID | None = None
    notes: Notes = None

    def new_task(self) -> NewTask:
        return NewTask(
            aircraft_id=self.aircraft_id,
            type=self.type,
            start_time=self.start_time,
            end_time=self.end_time,
            program_id=self.program_id,
            assigned_mechanic_id=self.assigned_mechanic_id,
            notes=self.notes,
        )


class TaskChanges(CommandModel):
    """A PATCH's given fields: a field left out is unset; `assigned_mechanic_id` and `notes` may be null."""

    type: TaskType | None = None
    start_time: Instant | None = None
    end_time: Instant | None = None
    assigned_mechanic_id: uuid.UUID | None = None
    notes: Notes = None

    @field_validator("type", "start_time", "end_time", mode="before")
    @classmethod
    def _not_null(cls, value: Any, info: Any) -> Any:
        if value is None:
            if info.field_name == "type":
                allowed = ", ".join(str(member.value) for member in TaskType)
                raise PydanticCustomError("null", "must be one of {allowed}", {"allowed": allowed})
            raise PydanticCustomError("null", "must not be null")
        return value

    def patch(self) -> TaskPatch:
        return TaskPatch(**{name: getattr(self, name) for name in PATCHABLE if name in self.model_fields_set})


class UpdateTask(AircraftCommand):
    TYPE: ClassVar[str] = "task.update"
    task_id: uuid.UUID
    changes: TaskChanges
    expected_version: Version | None = None


class TransitionTask(AircraftCommand):
    TYPE: ClassVar[str] = "task.transition"
    task_id: uuid.UUID
    state: TaskState
    notes: Notes = None
    override: StrictBool = False


class DeleteTask(AircraftCommand):
    TYPE: ClassVar[str] = "task.delete"
    task_id: uuid.UUID
    expected_version: Version | None = None


class CreateComplianceItem(AircraftCommand):
    TYPE: ClassVar[str] = "compliance.create"
    task_id: uuid.UUID
    description: StrictStr


class UpdateComplianceItem(AircraftCommand):
    TYPE: ClassVar[str] = "compliance.update"
    item_id: uuid.UUID
    description: StrictStr
    expected_version: Version | None = None


class SignOffComplianceItem(AircraftCommand):
    TYPE: ClassVar[str] = "compliance.sign_off"
    item_id: uuid.UUID
    result: ComplianceResult
