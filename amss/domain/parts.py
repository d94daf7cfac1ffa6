"""Part items and reservations: what may be reserved, both state machines, and the limited item edits.

Decisions where the specification is silent:
- A part item is one serialised unit, so a reservation's quantity is 1.
- Marking a reservation used re-checks the item: one that expired, was disposed or was deleted
  since it was reserved cannot be fitted.
- Item status is a state machine too: in_stock -> used only through its reservation,
  in_stock -> disposed by PATCH while no reservation holds it; used and disposed are final.
- PATCH /part-items may change serial_number, expiry_date (to a future date; an expiry is
  never removed, though an item without one may send its null back as no change) and status
  (in_stock -> disposed), and only while the item is in_stock: a used or disposed item is a
  traceability record and is Immutable.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
from typing import Final

from amss.domain.assignment import TaskWork, check_may_work
from amss.domain.enums import PartItemStatus, ReservationState, Role, TaskState
from amss.domain.errors import Conflict, Forbidden, Immutable, InvalidTransition, ValidationFailed
from amss.domain.timestamps import check_timestamp, utc_text
from amss.domain.versioning import UNSET, Unset

WRITER_ROLES: Final = frozenset({Role.ADMIN, Role.SCHEDULER, Role.MECHANIC})
RESERVABLE_TASK_STATES: Final = frozenset({TaskState.SCHEDULED, TaskState.IN_PROGRESS})


@dataclass(frozen=True)
class PartDefinition:
    id: uuid.UUID
    org_id: uuid.UUID
    name: str
    category: str
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


@dataclass(frozen=True)
class PartItem:
    id: uuid.UUID
    org_id: uuid.UUID
    part_definition_id: uuid.UUID
    serial_number: str
    status: PartItemStatus
    version: int
    created_at: datetime
    updated_at: datetime
    expiry_date: datetime | None = None
    deleted_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return self.expiry_date is not None and self.expiry_date <= now


@dataclass(frozen=True)
class PartReservation:
    id: uuid.UUID
    org_id: uuid.UUID
    task_id: uuid.UUID
    part_item_id: uuid.UUID
    state: ReservationState
    quantity: int
    version: int
    created_at: datetime
    updated_at: datetime


def unavailability(item: PartItem, now: datetime) -> str | None:
    """Why the item cannot be reserved or fitted now, or None when it can."""
    if item.deleted_at is not None:
        return "the part item is deleted"
    if item.status is not PartItemStatus.IN_STOCK:
        return f"the part item is {item.status}, not in_stock"
    if item.expiry_date is not None and item.expired(now):
        return f"the part item expired at {utc_text(item.expiry_date)}"
    return None


def check_reservable(
    item: PartItem, task_state: TaskState, now: datetime, *, actor_role: Role, item_reserved: bool, quantity: int = 1
) -> None:
    """A new reservation: an available item not held by another reservation, for a live task."""
    if actor_role not in WRITER_ROLES:
        raise Forbidden("only a scheduler or a mechanic can reserve parts")
    if quantity != 1:
        raise ValidationFailed.on_field("quantity", "must be 1: a part item is one serialised unit")
    problem = unavailability(item, now)
    if problem is not None:
        raise Conflict(f"part item {item.id} cannot be reserved: {problem}", {"part_item_id": str(item.id)})
    if item_reserved:
        raise Conflict(f"part item {item.id} is already reserved", {"part_item_id": str(item.id)})
    if task_state not in RESERVABLE_TASK_STATES:
        raise Conflict(f"parts cannot be reserved for a {task_state} task")


@dataclass(frozen=True)
class ReservationFacts:
    """What the application layer gathers before a reservation changes state; the domain decides."""

    now: datetime
    actor_role: Role
    actor_user_id: uuid.UUID
    task_state: TaskState
    task_assigned_mechanic_id: uuid.UUID | None
    item: PartItem


def _refuse(current: ReservationState, target: ReservationState, rule: str, message: str) -> InvalidTransition:
    return InvalidTransition(
        f"reservation cannot go from {current} to {target}: {message}",
        {"current_state": current.value, "target_state": target.value, "rule": rule},
    )


def _guard_use(current: ReservationState, target: ReservationState, facts: ReservationFacts) -> None:
    # the mechanic assigned to the reservation's task, a scheduler or an admin (amss/domain/assignment.py)
    check_may_work(TaskWork.MARK_USED, facts.actor_role, facts.actor_user_id, facts.task_assigned_mechanic_id)
    if facts.task_state not in RESERVABLE_TASK_STATES:
        raise _refuse(current, target, "task_closed", f"its task is {facts.task_state}")
    problem = unavailability(facts.item, facts.now)
    if problem is not None:
        raise _refuse(current, target, "item_unavailable", problem)


def _guard_release(current: ReservationState, target: ReservationState, facts: ReservationFacts) -> None:
    if facts.actor_role not in WRITER_ROLES:
        raise Forbidden("only a scheduler or a mechanic can release a reservation")


ReservationGuard = Callable[[ReservationState, ReservationState, ReservationFacts], None]

TRANSITIONS: Final[Mapping[tuple[ReservationState, ReservationState], ReservationGuard]] = MappingProxyType(
    {
        (ReservationState.RESERVED, ReservationState.USED): _guard_use,
        (ReservationState.RESERVED, ReservationState.RELEASED): _guard_release,
    }
)


def check_transition(current: ReservationState, target: ReservationState, facts: ReservationFacts) -> None:
    guard = TRANSITIONS.get((current, target))
    if guard is None:
        if current is ReservationState.RESERVED:
            raise _refuse(current, target, "no_such_transition", "no such transition")
        raise _refuse(current, target, "final_state", f"{current} is final")
    guard(current, target, facts)


def apply_transition(
    reservation: PartReservation, target: ReservationState, facts: ReservationFacts
) -> tuple[PartReservation, PartItem]:
    """The reservation in its new state and its item: used when the reservation is used, else unchanged."""
    check_transition(reservation.state, target, facts)
    moved = replace(reservation, state=target, version=reservation.version + 1, updated_at=facts.now)
    item = facts.item
    if target is ReservationState.USED:
        check_item_status_change(
            item.status,
            PartItemStatus.USED,
            ItemStatusFacts(facts.actor_role, item_reserved=True, via_reservation=True),
        )
        item = replace(item, status=PartItemStatus.USED, version=item.version + 1, updated_at=facts.now)
    return moved, item


def release_on_cancel(reservations: tuple[PartReservation, ...], now: datetime) -> tuple[PartReservation, ...]:
    """The task's still-reserved reservations, released; their items stay in_stock."""
    return tuple(
        replace(reservation, state=ReservationState.RELEASED, version=reservation.version + 1, updated_at=now)
        for reservation in reservations
        if reservation.state is ReservationState.RESERVED
    )


@dataclass(frozen=True)
class ItemStatusFacts:
    actor_role: Role
    # an active (reserved) reservation holds the item
    item_reserved: bool
    # the change is a reservation of this item being marked used
    via_reservation: bool = False


def _refuse_item(current: PartItemStatus, target: PartItemStatus, rule: str, message: str) -> InvalidTransition:
    return InvalidTransition(
        f"part item cannot go from {current} to {target}: {message}",
        {"current_state": current.value, "target_state": target.value, "rule": rule},
    )


def _guard_item_used(current: PartItemStatus, target: PartItemStatus, facts: ItemStatusFacts) -> None:
    if not facts.via_reservation:
        raise _refuse_item(
            current, target, "only_through_reservation", "an item is used by marking its reservation used"
        )


def _guard_item_disposed(current: PartItemStatus, target: PartItemStatus, facts: ItemStatusFacts) -> None:
    if facts.actor_role not in WRITER_ROLES:
        raise Forbidden("only a scheduler or a mechanic can dispose of a part item")
    if facts.item_reserved:
        raise _refuse_item(current, target, "item_reserved", "a reservation holds it; release it first")


ItemGuard = Callable[[PartItemStatus, PartItemStatus, ItemStatusFacts], None]

ITEM_STATUS_TRANSITIONS: Final[Mapping[tuple[PartItemStatus, PartItemStatus], ItemGuard]] = MappingProxyType(
    {
        (PartItemStatus.IN_STOCK, PartItemStatus.USED): _guard_item_used,
        (PartItemStatus.IN_STOCK, PartItemStatus.DISPOSED): _guard_item_disposed,
    }
)


def check_item_status_change(current: PartItemStatus, target: PartItemStatus, facts: ItemStatusFacts) -> None:
    guard = ITEM_STATUS_TRANSITIONS.get((current, target))
    if guard is None:
        final = current is not PartItemStatus.IN_STOCK
        raise _refuse_item(
            current,
            target,
            "final_state" if final else "no_such_transition",
            f"{current} is final" if final else "no such transition",
        )
    guard(current, target, facts)


def normalized_serial_number(serial_number: str) -> str:
    text = serial_number.strip()
    if not text:
        raise ValidationFailed.on_field("serial_number", "required")
    return text


def check_expiry_date(expiry_date: datetime, now: datetime) -> None:
    check_timestamp("expiry_date", expiry_date)
    if expiry_date <= now:
        raise ValidationFailed.on_field("expiry_date", "must be in the future")


# a new item is in stock, or a record of existing inventory already used or disposed of; every
# status a part item can have is one it may be created with (reservation is a separate entity)
NEW_ITEM_STATUSES: Final = frozenset({PartItemStatus.IN_STOCK, PartItemStatus.USED, PartItemStatus.DISPOSED})


def check_new_item(
    serial_number: str, expiry_date: datetime | None, now: datetime, status: PartItemStatus = PartItemStatus.IN_STOCK
) -> str:
    """The normalised serial number of a new item; its expiry, if any, must be in the future.

    The expiry rule is the same whatever the status (the trigger underneath enforces it on every
    insert): a used or disposed item whose expiry has passed is recorded without one."""
    if status not in NEW_ITEM_STATUSES:
        raise ValidationFailed.on_field("status", f"a new item is one of {', '.join(sorted(NEW_ITEM_STATUSES))}")
    if expiry_date is not None:
        check_expiry_date(expiry_date, now)
    return normalized_serial_number(serial_number)


@dataclass(frozen=True)
class PartItemPatch:
    """PATCH /part-items/{id}: None (UNSET for the expiry) leaves a field unchanged.

    An expiry sent as None is the current value of an item without one (no change); an expiry
    cannot be removed from an item that has one."""

    serial_number: str | None = None
    expiry_date: datetime | Unset | None = UNSET
    status: PartItemStatus | None = None


def check_item_update(
    item: PartItem, patch: PartItemPatch, *, actor_role: Role, now: datetime, item_reserved: bool
) -> dict[str, object]:
    """The validated changes (column -> new value) the patch makes; empty when it changes nothing.

    The repository applies them and bumps the version, as for every other aggregate."""
    if actor_role not in WRITER_ROLES:
        raise Forbidden("only a scheduler or a mechanic can change part items")
    changes: dict[str, object] = {}
    if patch.serial_number is not None:
        serial_number = normalized_serial_number(patch.serial_number)
        if serial_number != item.serial_number:
            changes["serial_number"] = serial_number
    if not isinstance(patch.expiry_date, Unset) and patch.expiry_date != item.expiry_date:
        if patch.expiry_date is None:
            raise ValidationFailed.on_field("expiry_date", "an expiry cannot be removed, only moved later")
        check_expiry_date(patch.expiry_date, now)
        changes["expiry_date"] = patch.expiry_date
    if patch.status is not None and patch.status is not item.status:
        changes["status"] = patch.status
    if not changes:
        return changes
    if item.deleted_at is not None:
        raise Conflict(f"part item {item.id} is deleted")
    if item.status is not PartItemStatus.IN_STOCK:
        raise Immutable(f"part item {item.id} is {item.status}; it is kept as it was for traceability")
    if patch.status is not None and patch.status is not item.status:
        check_item_status_change(item.status, patch.status, ItemStatusFacts(actor_role, item_reserved))
    return changes
