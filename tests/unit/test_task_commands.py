"""Task and compliance command payloads: built by the REST layer, read back unchanged by the actor."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest

from amss.app import task_commands
from amss.app.tasks_ports import NewTask
from amss.domain.enums import ComplianceResult, TaskState, TaskType
from amss.domain.errors import ValidationFailed
from amss.domain.tasks import TaskPatch
from amss.domain.versioning import UNSET

START = datetime(2031, 5, 1, 8, 0, tzinfo=UTC)


def _through_json(payload: dict[str, object]) -> dict[str, object]:
    """A payload as the command row stores it and another process reads it."""
    return orjson.loads(orjson.dumps(payload))  # type: ignore[no-any-return]


def test_create_round_trip() -> None:
    new = NewTask(uuid.uuid4(), TaskType.OVERHAUL, START, START + timedelta(hours=2), uuid.uuid4(), uuid.uuid4(), "n")
    assert task_commands.read_create(_through_json(task_commands.create_payload(new))) == new
    bare = NewTask(uuid.uuid4(), TaskType.REPAIR, START, START + timedelta(hours=1))
    assert task_commands.read_create(_through_json(task_commands.create_payload(bare))) == bare


def test_update_round_trip_keeps_unset_apart_from_null() -> None:
    task_id = uuid.uuid4()
    changes = {"notes": None, "end_time": "2031-05-01T12:00:00Z", "type": "repair"}
    command = task_commands.read_update(_through_json(task_commands.update_payload(task_id, changes, 3)))
    assert command.task_id == task_id and command.expected_version == 3
    assert command.patch == TaskPatch(type=TaskType.REPAIR, end_time=datetime(2031, 5, 1, 12, tzinfo=UTC), notes=None)
    assert command.patch.start_time is UNSET and command.patch.assigned_mechanic_id is UNSET
    assert task_commands.patch_is_empty(task_commands.parse_patch({}))


def test_transition_and_compliance_round_trips() -> None:
    task_id, item_id = uuid.uuid4(), uuid.uuid4()
    payload = task_commands.transition_payload(task_id, TaskState.COMPLETED, "done", True)
    assert task_commands.read_transition(_through_json(payload)) == task_commands.TransitionCommand(
        task_id, TaskState.COMPLETED, "done", True
    )
    assert task_commands.read_delete(_through_json(task_commands.delete_payload(task_id, None))) == (
        task_commands.DeleteCommand(task_id, None)
    )
    created = task_commands.read_compliance_create(task_commands.compliance_create_payload(task_id, "check"))
    assert created == task_commands.ComplianceCreateCommand(task_id, "check")
    edited = task_commands.read_compliance_update(task_commands.compliance_update_payload(item_id, "again", 2))
    assert edited == task_commands.ComplianceUpdateCommand(item_id, "again", 2)
    signed = task_commands.read_sign_off(task_commands.sign_off_payload(item_id, ComplianceResult.FAIL))
    assert signed == task_commands.SignOffCommand(item_id, ComplianceResult.FAIL)


@pytest.mark.parametrize(
    ("read", "payload", "field"),
    [
        (task_commands.read_create, {"aircraft_id": "x"}, "aircraft_id"),
        (task_commands.read_transition, {"task_id": str(uuid.uuid4()), "state": "paused"}, "state"),
        (
            task_commands.read_transition,
            {"task_id": str(uuid.uuid4()), "state": "completed", "override": 1},
            "override",
        ),
        (task_commands.read_update, {"task_id": str(uuid.uuid4()), "changes": {"state": "x"}}, "state"),
        (task_commands.read_update, {"task_id": str(uuid.uuid4()), "changes": {"start_time": None}}, "start_time"),
        (
            task_commands.read_update,
            {"task_id": str(uuid.uuid4()), "changes": {"end_time": "2031-05-01T12:00"}},
            "end_time",
        ),
        (task_commands.read_update, {"task_id": str(uuid.uuid4()), "changes": []}, "changes"),
        (task_commands.read_delete, {"task_id": str(uuid.uuid4()), "expected_version": "2"}, "expected_version"),
        (task_commands.read_sign_off, {"item_id": str(uuid.uuid4()), "result": "maybe"}, "result"),
        (task_commands.read_compliance_create, {"task_id": str(uuid.uuid4()), "description": 3}, "description"),
    ],
)
def test_malformed_payloads_are_refused(read: object, payload: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        read(payload)  # type: ignore[operator]
    assert field in refused.value.details["fields"]
