"""Part command payloads: what the REST layer builds, the actor reads back unchanged; malformed is refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from amss.app import parts_commands
from amss.domain.enums import PartItemStatus, ReservationState
from amss.domain.errors import ValidationFailed
from amss.domain.parts import PartItemPatch


def test_item_update_round_trip() -> None:
    item_id = uuid.uuid4()
    patch = PartItemPatch("SN-1", datetime(2030, 1, 1, tzinfo=UTC), PartItemStatus.DISPOSED)
    command = parts_commands.read_item_update(parts_commands.item_update_payload(item_id, patch, 3))
    assert (command.part_item_id, command.patch, command.expected_version) == (item_id, patch, 3)
    empty = parts_commands.read_item_update(parts_commands.item_update_payload(item_id, PartItemPatch(), None))
    assert (empty.patch, empty.expected_version) == (PartItemPatch(), None)


def test_a_null_expiry_travels_to_the_domain_which_decides() -> None:
    item_id = uuid.uuid4()
    command = parts_commands.read_item_update(
        parts_commands.item_update_payload(item_id, PartItemPatch(expiry_date=None), None)
    )
    assert command.patch == PartItemPatch(expiry_date=None)
    assert command.patch != PartItemPatch()


def test_reserve_and_state_round_trip() -> None:
    task_id, item_id, reservation_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    reserve = parts_commands.read_reserve(parts_commands.reserve_payload(task_id, item_id, 1))
    assert (reserve.task_id, reserve.part_item_id, reserve.quantity) == (task_id, item_id, 1)
    for state in (ReservationState.USED, ReservationState.RELEASED):
        payload = parts_commands.reservation_state_payload(reservation_id, state, 2)
        command = parts_commands.read_reservation_state(payload)
        assert (command.reservation_id, command.state, command.expected_version) == (reservation_id, state, 2)
    delete = parts_commands.read_item_delete(parts_commands.item_delete_payload(item_id, None))
    assert (delete.part_item_id, delete.expected_version) == (item_id, None)


@pytest.mark.parametrize(
    ("reader", "payload"),
    [
        (parts_commands.read_reserve, {"task_id": "x", "part_item_id": str(uuid.uuid4())}),
        (parts_commands.read_reserve, {"task_id": str(uuid.uuid4())}),
        (
            parts_commands.read_reserve,
            {"task_id": str(uuid.uuid4()), "part_item_id": str(uuid.uuid4()), "quantity": "1"},
        ),
        (parts_commands.read_reservation_state, {"reservation_id": str(uuid.uuid4()), "state": "reserved"}),
        (
            parts_commands.read_reservation_state,
            {"reservation_id": str(uuid.uuid4()), "state": "used", "expected_version": True},
        ),
        (parts_commands.read_item_update, {"part_item_id": str(uuid.uuid4()), "changes": []}),
        (parts_commands.read_item_update, {"part_item_id": str(uuid.uuid4()), "changes": {"colour": "red"}}),
        (parts_commands.read_item_update, {"part_item_id": str(uuid.uuid4()), "changes": {"serial_number": None}}),
        (parts_commands.read_item_update, {"part_item_id": str(uuid.uuid4()), "changes": {"status": None}}),
        (
            parts_commands.read_item_update,
            {"part_item_id": str(uuid.uuid4()), "changes": {"expiry_date": "2030-01-01T00:00:00"}},
        ),
        (parts_commands.read_item_update, {"part_item_id": str(uuid.uuid4()), "changes": {"status": "lost"}}),
        (parts_commands.read_item_update, {"part_item_id": str(uuid.uuid4()), "changes": {"serial_number": 7}}),
    ],
)
def test_malformed_payloads_are_validation_errors(reader: Any, payload: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed):
        reader(payload)
