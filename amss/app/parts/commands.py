"""Part commands: every write that touches a part item's availability, in the actor of that part item.

A reservation never moves to another part item: the front resolves `part_item_id` when it builds
a state change.
"""

from __future__ import annotations

import uuid
from typing import Any, ClassVar, Final, Literal

from pydantic import StrictInt, StrictStr, field_validator
from pydantic_core import PydanticCustomError

from amss.app.commands.base import AircraftCommand, CommandModel, Instant, PartItemCommand, Version
from amss.domain.enums import PartItemStatus, ReservationState
from amss.domain.parts import PartItemPatch
from amss.domain.versioning import UNSET


class PartItemChanges(CommandModel):
    """PATCH /part-items changes: serial_number, expiry_date, status. serial_number and status may not
    be null; a null expiry reaches the domain, which takes it as no change when the item has none and
    refuses removing one that exists."""

    serial_number: StrictStr | None = None
    expiry_date: Instant | None = None
    status: PartItemStatus | None = None

    @field_validator("serial_number", "status", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise PydanticCustomError("null", "must not be null")
        return value

    def patch(self) -> PartItemPatch:
        expiry_date = self.expiry_date if "expiry_date" in self.model_fields_set else UNSET
        return PartItemPatch(serial_number=self.serial_number, expiry_date=expiry_date, status=self.status)


class UpdatePartItem(PartItemCommand):
    TYPE: ClassVar[str] = "part_item.update"
    changes: PartItemChanges
    expected_version: Version | None = None


class DeletePartItem(PartItemCommand):
    TYPE: ClassVar[str] = "part_item.delete"
    expected_version: Version | None = None


class ReservePart(PartItemCommand):
    TYPE: ClassVar[str] = "part_reservation.create"
    task_id: uuid.UUID
    quantity: StrictInt = 1


class TransitionReservation(PartItemCommand):
    TYPE: ClassVar[str] = "part_reservation.state"
    reservation_id: uuid.UUID
    state: Literal[ReservationState.USED, ReservationState.RELEASED]
    expected_version: Version | None = None


MAX_PARTS_PER_CALL: Final = 100


class ReserveParts(AircraftCommand):
    """Reserve several part items for one task, all or nothing (gRPC InventoryService.ReserveParts).

    Runs in the actor of the task's aircraft, in one transaction: each item is reserved exactly as
    `ReservePart` reserves it (its Redis lock, its row lock, the same rules), in id order, so two
    overlapping calls cannot deadlock; the first item refused rolls every reservation back."""

    TYPE: ClassVar[str] = "part_reservation.create_many"
    task_id: uuid.UUID
    part_item_ids: tuple[uuid.UUID, ...]


class ReleaseParts(PartItemCommand):
    """Release several reservations, all or nothing (gRPC InventoryService.ReleaseParts), in one transaction.

    `part_item_id` (the actor) is the first of the items; `releases` pairs each reservation with its
    item, sorted by item, so the row locks are taken in one order."""

    TYPE: ClassVar[str] = "part_reservation.release_many"
    releases: tuple[tuple[uuid.UUID, uuid.UUID], ...]
