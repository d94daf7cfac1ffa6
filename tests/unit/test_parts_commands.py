"""Part commands: what the REST layer builds, the actor reads back unchanged; malformed is refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from amss.app.commands.base import CommandModel, parse_payload
from amss.app.parts.commands import DeletePartItem, PartItemChanges, ReservePart, TransitionReservation, UpdatePartItem
from amss.domain.enums import PartItemStatus, ReservationState
from amss.domain.errors import ValidationFailed
from amss.domain.parts import PartItemPatch


def _round_trip(command: CommandModel) -> Any:
    return parse_payload(type(command), orjson.loads(orjson.dumps(command.payload())))


def test_item_update_round_trip() -> None:
    item_id = uuid.uuid4()
    patch = PartItemPatch("SN-1", datetime(2030, 1, 1, tzinfo=UTC), PartItemStatus.DISPOSED)
    changes = PartItemChanges(serial_number=patch.serial_number, expiry_date=patch.expiry_date, status=patch.status)
    command = _round_trip(UpdatePartItem(part_item_id=item_id, changes=changes, expected_version=3))
    assert (command.part_item_id, command.changes.patch(), command.expected_version) == (item_id, patch, 3)
    empty = _round_trip(UpdatePartItem(part_item_id=item_id, changes=PartItemChanges(), expected_version=None))
    assert (empty.changes.patch(), empty.expected_version) == (PartItemPatch(), None)


def test_a_null_expiry_travels_to_the_domain_which_decides() -> None:
    item_id = uuid.uuid4()
    sent = UpdatePartItem(part_item_id=item_id, changes=PartItemChanges(expiry_date=None), expected_version=None)
    command = _round_trip(sent)
    assert command.changes.patch() == PartItemPatch(expiry_date=None)
    assert command.changes.patch() != PartItemPatch()


def test_reserve_and_state_round_trip() -> None:
    task_id, item_id, reservation_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    reserve = _round_trip(ReservePart(task_id=task_id, part_item_id=item_id, quantity=1))
    assert (reserve.task_id, reserve.part_item_id, reserve.quantity) == (task_id, item_id, 1)
    for state in (ReservationState.USED, ReservationState.RELEASED):
        sent = TransitionReservation(
            part_item_id=item_id, reservation_id=reservation_id, state=state, expected_version=2
        )
        command = _round_trip(sent)
        assert (command.reservation_id, command.state, command.expected_version) == (reservation_id, state, 2)
    delete = _round_trip(DeletePartItem(part_item_id=item_id, expected_version=None))
    assert (delete.part_item_id, delete.expected_version) == (item_id, None)
    assert reserve.actor(uuid.UUID(int=1)) == f"part:{uuid.UUID(int=1)}:{item_id}"


ITEM = str(uuid.uuid4())


@pytest.mark.parametrize(
    ("model", "payload"),
    [
        (ReservePart, {"task_id": "x", "part_item_id": str(uuid.uuid4())}),
        (ReservePart, {"task_id": str(uuid.uuid4())}),
        (ReservePart, {"task_id": str(uuid.uuid4()), "part_item_id": str(uuid.uuid4()), "quantity": "1"}),
        (TransitionReservation, {"part_item_id": ITEM, "reservation_id": str(uuid.uuid4()), "state": "reserved"}),
        (
            TransitionReservation,
            {"part_item_id": ITEM, "reservation_id": str(uuid.uuid4()), "state": "used", "expected_version": True},
        ),
        (UpdatePartItem, {"part_item_id": ITEM, "changes": []}),
        (UpdatePartItem, {"part_item_id": ITEM, "changes": {"colour": "red"}}),
        (UpdatePartItem, {"part_item_id": ITEM, "changes": {"serial_number": None}}),
        (UpdatePartItem, {"part_item_id": ITEM, "changes": {"status": None}}),
        (UpdatePartItem, {"part_item_id": ITEM, "changes": {"expiry_date": "2030-01-01T00:00:00"}}),
        (UpdatePartItem, {"part_item_id": ITEM, "changes": {"status": "lost"}}),
        (UpdatePartItem, {"part_item_id": ITEM, "changes": {"serial_number": 7}}),
    ],
)
def test_malformed_payloads_are_validation_errors(model: type[CommandModel], payload: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed):
        parse_payload(model, payload)
