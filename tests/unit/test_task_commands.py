"""Task and compliance commands: built by the REST layer, carried as JSON, read back unchanged by the actor."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from amss.app.commands.base import CommandModel, parse_payload
from amss.app.tasks.commands import (
    CreateComplianceItem,
    CreateTask,
    DeleteTask,
    SignOffComplianceItem,
    TaskChanges,
    TransitionTask,
    UpdateComplianceItem,
    UpdateTask,
)
from amss.app.tasks.ports import NewTask
from amss.domain.enums import ComplianceResult, TaskState, TaskType
from amss.domain.errors import ValidationFailed
from amss.domain.tasks import TaskPatch
from amss.domain.versioning import UNSET

START = datetime(2031, 5, 1, 8, 0, tzinfo=UTC)
AIRCRAFT = str(uuid.uuid4())


def _through_json(command: CommandModel) -> dict[str, Any]:
    """A payload as the command row stores it and another process reads it."""
    return orjson.loads(orjson.dumps(command.payload()))  # type: ignore[no-any-return]


def _round_trip(command: CommandModel) -> CommandModel:
    return parse_payload(type(command), _through_json(command))


def test_create_round_trip() -> None:
    new = NewTask(uuid.uuid4(), TaskType.OVERHAUL, START, START + timedelta(hours=2), uuid.uuid4(), uuid.uuid4(), "n")
    full = CreateTask(**vars(new))
    assert parse_payload(CreateTask, _through_json(full)).new_task() == new
    bare = NewTask(uuid.uuid4(), TaskType.REPAIR, START, START + timedelta(hours=1))
    light = CreateTask(aircraft_id=bare.aircraft_id, type=bare.type, start_time=bare.start_time, end_time=bare.end_time)
    assert parse_payload(CreateTask, _through_json(light)).new_task() == bare


def test_update_round_trip_keeps_unset_apart_from_null() -> None:
    task_id = uuid.uuid4()
    changes = {"notes": None, "end_time": "2031-05-01T12:00:00Z", "type": "repair"}
    sent = UpdateTask(aircraft_id=AIRCRAFT, task_id=task_id, changes=changes, expected_version=3)
    command = parse_payload(UpdateTask, _through_json(sent))
    assert command.task_id == task_id and command.expected_version == 3
    patch = command.changes.patch()
    assert patch == TaskPatch(type=TaskType.REPAIR, end_time=datetime(2031, 5, 1, 12, tzinfo=UTC), notes=None)
    assert patch.start_time is UNSET and patch.assigned_mechanic_id is UNSET
    assert TaskChanges().patch() == TaskPatch()


def test_transition_and_compliance_round_trips() -> None:
    task_id, item_id, aircraft_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    commands: list[CommandModel] = [
        TransitionTask(
            aircraft_id=aircraft_id, task_id=task_id, state=TaskState.COMPLETED, notes="done", override=True
        ),
        DeleteTask(aircraft_id=aircraft_id, task_id=task_id, expected_version=None),
        CreateComplianceItem(aircraft_id=aircraft_id, task_id=task_id, description="check"),
        UpdateComplianceItem(aircraft_id=aircraft_id, item_id=item_id, description="again", expected_version=2),
        SignOffComplianceItem(aircraft_id=aircraft_id, item_id=item_id, result=ComplianceResult.FAIL),
    ]
    for command in commands:
        assert _round_trip(command) == command
        assert command.actor(uuid.UUID(int=1)) == f"aircraft:{uuid.UUID(int=1)}:{aircraft_id}"


def _with_aircraft(payload: dict[str, Any]) -> dict[str, Any]:
    return {"aircraft_id": AIRCRAFT, **payload}


@pytest.mark.parametrize(
    ("model", "payload", "field"),
    [
        (CreateTask, {"aircraft_id": "x"}, "aircraft_id"),
        (TransitionTask, _with_aircraft({"task_id": str(uuid.uuid4()), "state": "paused"}), "state"),
        (
            TransitionTask,
            _with_aircraft({"task_id": str(uuid.uuid4()), "state": "completed", "override": 1}),
            "override",
        ),
        (UpdateTask, _with_aircraft({"task_id": str(uuid.uuid4()), "changes": {"state": "x"}}), "state"),
        (UpdateTask, _with_aircraft({"task_id": str(uuid.uuid4()), "changes": {"start_time": None}}), "start_time"),
        (
            UpdateTask,
            _with_aircraft({"task_id": str(uuid.uuid4()), "changes": {"end_time": "2031-05-01T12:00"}}),
            "end_time",
        ),
        (UpdateTask, _with_aircraft({"task_id": str(uuid.uuid4()), "changes": []}), "changes"),
        (DeleteTask, _with_aircraft({"task_id": str(uuid.uuid4()), "expected_version": "2"}), "expected_version"),
        (SignOffComplianceItem, _with_aircraft({"item_id": str(uuid.uuid4()), "result": "maybe"}), "result"),
        (CreateComplianceItem, _with_aircraft({"task_id": str(uuid.uuid4()), "description": 3}), "description"),
    ],
)
def test_malformed_payloads_are_refused(model: type[CommandModel], payload: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_payload(model, payload)
    assert field in refused.value.details["fields"]
