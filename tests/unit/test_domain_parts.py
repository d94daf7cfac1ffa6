"""Part reservations and part items: availability, both state machines over every pair, limited item edits."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from amss.domain.enums import PartItemStatus, ReservationState, Role, TaskState
from amss.domain.errors import Conflict, Forbidden, Immutable, InvalidTransition, ValidationFailed
from amss.domain.parts import (
    ITEM_STATUS_TRANSITIONS,
    TRANSITIONS,
    ItemStatusFacts,
    PartItem,
    PartItemPatch,
    PartReservation,
    ReservationFacts,
    apply_transition,
    check_item_status_change,
    check_item_update,
    check_new_item,
    check_reservable,
    check_transition,
    release_on_cancel,
    unavailability,
)

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
CREATED = datetime(2026, 1, 1, tzinfo=UTC)
MECHANIC_ID = uuid.uuid4()
RESERVED, USED, RELEASED = ReservationState.RESERVED, ReservationState.USED, ReservationState.RELEASED
IN_STOCK, ITEM_USED, DISPOSED = PartItemStatus.IN_STOCK, PartItemStatus.USED, PartItemStatus.DISPOSED
WRITERS = (Role.ADMIN, Role.SCHEDULER, Role.MECHANIC)
READERS = (Role.TENANT_ADMIN, Role.AUDITOR)


def make_item(status: PartItemStatus = IN_STOCK, **fields: Any) -> PartItem:
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "org_id": uuid.uuid4(),
        "part_definition_id": uuid.uuid4(),
        "serial_number": "SN-001",
        "status": status,
        "version": 2,
        "created_at": CREATED,
        "updated_at": CREATED,
        "expiry_date": NOW + timedelta(days=90),
    }
    values.update(fields)
    return PartItem(**values)


def make_reservation(state: ReservationState = RESERVED) -> PartReservation:
    return PartReservation(uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), state, 1, 1, CREATED, CREATED)


def facts(**fields: Any) -> ReservationFacts:
    """The assigned mechanic acting on a reservation of an available item for an in-progress task."""
    values: dict[str, Any] = {
        "now": NOW,
        "actor_role": Role.MECHANIC,
        "actor_user_id": MECHANIC_ID,
        "task_state": TaskState.IN_PROGRESS,
        "task_assigned_mechanic_id": MECHANIC_ID,
        "item": make_item(),
    }
    values.update(fields)
    return ReservationFacts(**values)


# --- reserving ----------------------------------------------------------------------------


@pytest.mark.parametrize("task_state", [TaskState.SCHEDULED, TaskState.IN_PROGRESS])
@pytest.mark.parametrize("role", WRITERS)
def test_an_in_stock_unexpired_item_can_be_reserved_for_a_live_task(task_state: TaskState, role: Role) -> None:
    check_reservable(make_item(), task_state, NOW, actor_role=role, item_reserved=False)


def test_an_item_without_expiry_can_be_reserved() -> None:
    check_reservable(
        make_item(expiry_date=None), TaskState.SCHEDULED, NOW, actor_role=Role.MECHANIC, item_reserved=False
    )


@pytest.mark.parametrize(
    "item",
    [
        make_item(ITEM_USED),
        make_item(DISPOSED),
        make_item(expiry_date=NOW),
        make_item(expiry_date=NOW - timedelta(days=1)),
        make_item(deleted_at=CREATED),
    ],
    ids=["used", "disposed", "expires-now", "expired", "deleted"],
)
def test_an_unavailable_item_cannot_be_reserved(item: PartItem) -> None:
    assert unavailability(item, NOW) is not None
    with pytest.raises(Conflict):
        check_reservable(item, TaskState.SCHEDULED, NOW, actor_role=Role.SCHEDULER, item_reserved=False)


def test_an_item_already_reserved_cannot_be_reserved_again() -> None:
    with pytest.raises(Conflict, match="already reserved"):
        check_reservable(make_item(), TaskState.SCHEDULED, NOW, actor_role=Role.SCHEDULER, item_reserved=True)


@pytest.mark.parametrize("task_state", [TaskState.COMPLETED, TaskState.CANCELLED])
def test_parts_cannot_be_reserved_for_a_finished_task(task_state: TaskState) -> None:
    with pytest.raises(Conflict):
        check_reservable(make_item(), task_state, NOW, actor_role=Role.SCHEDULER, item_reserved=False)


@pytest.mark.parametrize("role", READERS)
def test_readers_cannot_reserve(role: Role) -> None:
    with pytest.raises(Forbidden):
        check_reservable(make_item(), TaskState.SCHEDULED, NOW, actor_role=role, item_reserved=False)


@pytest.mark.parametrize("quantity", [0, 2, -1])
def test_a_serialised_item_is_reserved_one_at_a_time(quantity: int) -> None:
    with pytest.raises(ValidationFailed):
        check_reservable(
            make_item(), TaskState.SCHEDULED, NOW, actor_role=Role.SCHEDULER, item_reserved=False, quantity=quantity
        )


# --- the reservation state machine --------------------------------------------------------


def test_the_reservation_table_holds_use_and_release() -> None:
    assert set(TRANSITIONS) == {(RESERVED, USED), (RESERVED, RELEASED)}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(ReservationState, ReservationState)))
def test_every_reservation_pair_is_legal_exactly_when_it_is_in_the_table(
    current: ReservationState, target: ReservationState
) -> None:
    if (current, target) in TRANSITIONS:
        check_transition(current, target, facts())
        return
    with pytest.raises(InvalidTransition) as caught:
        check_transition(current, target, facts(actor_role=Role.ADMIN))
    assert caught.value.details["current_state"] == current.value
    assert caught.value.details["target_state"] == target.value
    assert caught.value.details["rule"] == ("final_state" if current is not RESERVED else "no_such_transition")


@pytest.mark.parametrize(
    ("role", "actor_is_assignee", "allowed"),
    [
        (Role.MECHANIC, True, True),
        (Role.MECHANIC, False, False),
        (Role.SCHEDULER, False, True),
        (Role.ADMIN, False, True),
        (Role.TENANT_ADMIN, False, False),
        (Role.AUDITOR, False, False),
    ],
)
def test_a_reservation_is_used_by_the_assigned_mechanic_or_a_scheduler(
    role: Role, actor_is_assignee: bool, allowed: bool
) -> None:
    given = facts(actor_role=role, actor_user_id=MECHANIC_ID if actor_is_assignee else uuid.uuid4())
    if allowed:
        check_transition(RESERVED, USED, given)
    else:
        with pytest.raises(Forbidden):
            check_transition(RESERVED, USED, given)


def test_a_mechanic_cannot_use_a_reservation_of_an_unassigned_task() -> None:
    with pytest.raises(Forbidden):
        check_transition(RESERVED, USED, facts(task_assigned_mechanic_id=None))


@pytest.mark.parametrize("task_state", [TaskState.COMPLETED, TaskState.CANCELLED])
def test_a_reservation_of_a_finished_task_cannot_be_used(task_state: TaskState) -> None:
    with pytest.raises(InvalidTransition) as caught:
        check_transition(RESERVED, USED, facts(task_state=task_state))
    assert caught.value.details["rule"] == "task_closed"


@pytest.mark.parametrize(
    "item",
    [make_item(expiry_date=NOW - timedelta(seconds=1)), make_item(DISPOSED), make_item(deleted_at=CREATED)],
    ids=["expired-since-reserved", "disposed", "deleted"],
)
def test_an_item_that_became_unavailable_cannot_be_fitted(item: PartItem) -> None:
    with pytest.raises(InvalidTransition) as caught:
        check_transition(RESERVED, USED, facts(item=item))
    assert caught.value.details["rule"] == "item_unavailable"


@pytest.mark.parametrize(("role", "allowed"), [(r, r in WRITERS) for r in Role])
def test_any_scheduler_or_mechanic_can_release_a_reservation(role: Role, allowed: bool) -> None:
    given = facts(actor_role=role, actor_user_id=uuid.uuid4(), item=make_item(expiry_date=NOW - timedelta(days=1)))
    if allowed:
        check_transition(RESERVED, RELEASED, given)
    else:
        with pytest.raises(Forbidden):
            check_transition(RESERVED, RELEASED, given)


def test_using_a_reservation_uses_its_item() -> None:
    given = facts()
    reservation = make_reservation()
    used, item = apply_transition(reservation, USED, given)
    assert (used.state, used.version, used.updated_at) == (USED, reservation.version + 1, NOW)
    assert (item.status, item.version) == (ITEM_USED, given.item.version + 1)


def test_releasing_a_reservation_leaves_its_item_in_stock() -> None:
    given = facts()
    released, item = apply_transition(make_reservation(), RELEASED, given)
    assert released.state is RELEASED
    assert item is given.item


def test_cancelling_a_task_releases_only_its_reserved_reservations() -> None:
    held, used, released = make_reservation(RESERVED), make_reservation(USED), make_reservation(RELEASED)
    freed = release_on_cancel((held, used, released), NOW)
    assert [r.id for r in freed] == [held.id]
    assert (freed[0].state, freed[0].version, freed[0].updated_at) == (RELEASED, held.version + 1, NOW)


# --- the item status machine --------------------------------------------------------------


def test_the_item_table_holds_use_and_disposal_from_in_stock() -> None:
    assert set(ITEM_STATUS_TRANSITIONS) == {(IN_STOCK, ITEM_USED), (IN_STOCK, DISPOSED)}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(PartItemStatus, PartItemStatus)))
def test_every_item_status_pair_is_legal_exactly_when_it_is_in_the_table(
    current: PartItemStatus, target: PartItemStatus
) -> None:
    permissive = ItemStatusFacts(Role.ADMIN, item_reserved=False, via_reservation=True)
    if (current, target) in ITEM_STATUS_TRANSITIONS:
        check_item_status_change(current, target, permissive)
        return
    with pytest.raises(InvalidTransition) as caught:
        check_item_status_change(current, target, permissive)
    assert current.value in caught.value.message
    assert target.value in caught.value.message


def test_an_item_is_used_only_through_its_reservation() -> None:
    with pytest.raises(InvalidTransition) as caught:
        check_item_status_change(IN_STOCK, ITEM_USED, ItemStatusFacts(Role.ADMIN, item_reserved=True))
    assert caught.value.details["rule"] == "only_through_reservation"


def test_a_reserved_item_cannot_be_disposed() -> None:
    with pytest.raises(InvalidTransition) as caught:
        check_item_status_change(IN_STOCK, DISPOSED, ItemStatusFacts(Role.SCHEDULER, item_reserved=True))
    assert caught.value.details["rule"] == "item_reserved"


@pytest.mark.parametrize(("role", "allowed"), [(r, r in WRITERS) for r in Role])
def test_schedulers_mechanics_and_admins_dispose_of_items(role: Role, allowed: bool) -> None:
    given = ItemStatusFacts(role, item_reserved=False)
    if allowed:
        check_item_status_change(IN_STOCK, DISPOSED, given)
    else:
        with pytest.raises(Forbidden):
            check_item_status_change(IN_STOCK, DISPOSED, given)


# --- limited item updates -----------------------------------------------------------------


def update(
    item: PartItem, patch: PartItemPatch, role: Role = Role.MECHANIC, reserved: bool = False
) -> dict[str, object]:
    return check_item_update(item, patch, actor_role=role, now=NOW, item_reserved=reserved)


def test_an_in_stock_item_may_change_serial_expiry_and_be_disposed() -> None:
    expiry = NOW + timedelta(days=400)
    patch = PartItemPatch(serial_number=" SN-002 ", expiry_date=expiry, status=DISPOSED)
    assert update(make_item(), patch) == {"serial_number": "SN-002", "expiry_date": expiry, "status": DISPOSED}


def test_an_unchanged_patch_has_no_changes_even_on_a_used_item() -> None:
    item = make_item(ITEM_USED)
    assert update(item, PartItemPatch(serial_number=item.serial_number, status=ITEM_USED)) == {}


def test_sending_back_the_null_expiry_of_an_item_without_one_is_no_change() -> None:
    item = make_item(expiry_date=None)
    assert update(item, PartItemPatch(serial_number=item.serial_number, expiry_date=None, status=IN_STOCK)) == {}
    assert update(make_item(ITEM_USED, expiry_date=None), PartItemPatch(expiry_date=None)) == {}


def test_an_expiry_cannot_be_removed() -> None:
    item = make_item()
    with pytest.raises(ValidationFailed, match="cannot be removed"):
        update(item, PartItemPatch(expiry_date=None))


@pytest.mark.parametrize("status", [ITEM_USED, DISPOSED])
@pytest.mark.parametrize(
    "patch",
    [
        PartItemPatch(serial_number="SN-999"),
        PartItemPatch(expiry_date=NOW + timedelta(days=1)),
        PartItemPatch(status=IN_STOCK),
    ],
    ids=["serial", "expiry", "back-in-stock"],
)
def test_a_used_or_disposed_item_is_immutable(status: PartItemStatus, patch: PartItemPatch) -> None:
    with pytest.raises(Immutable):
        update(make_item(status), patch)


@pytest.mark.parametrize(
    ("expiry", "problem"),
    [
        (NOW, "future"),
        (NOW - timedelta(days=1), "future"),
        ((NOW + timedelta(days=1)).replace(tzinfo=None), "time zone"),
    ],
)
def test_a_new_expiry_date_must_be_an_aware_future_time(expiry: datetime, problem: str) -> None:
    with pytest.raises(ValidationFailed, match=problem):
        update(make_item(), PartItemPatch(expiry_date=expiry))


def test_a_blank_serial_number_is_refused() -> None:
    with pytest.raises(ValidationFailed):
        update(make_item(), PartItemPatch(serial_number="  "))


def test_an_item_cannot_be_marked_used_by_patch() -> None:
    with pytest.raises(InvalidTransition):
        update(make_item(), PartItemPatch(status=ITEM_USED))


def test_a_reserved_item_cannot_be_disposed_by_patch() -> None:
    with pytest.raises(InvalidTransition):
        update(make_item(), PartItemPatch(status=DISPOSED), reserved=True)


@pytest.mark.parametrize("role", READERS)
def test_readers_cannot_update_items(role: Role) -> None:
    with pytest.raises(Forbidden):
        update(make_item(), PartItemPatch(serial_number="SN-2"), role=role)


def test_a_deleted_item_cannot_change() -> None:
    with pytest.raises(Conflict):
        update(make_item(deleted_at=CREATED), PartItemPatch(serial_number="SN-2"))


def test_a_new_item_has_a_serial_number_and_a_future_expiry_if_any() -> None:
    assert check_new_item(" SN-7 ", None, NOW) == "SN-7"
    assert check_new_item("SN-7", NOW.astimezone(timezone(timedelta(hours=3))) + timedelta(days=1), NOW) == "SN-7"
    with pytest.raises(ValidationFailed):
        check_new_item("SN-7", NOW, NOW)
    with pytest.raises(ValidationFailed):
        check_new_item("", None, NOW)


@pytest.mark.parametrize("status", list(PartItemStatus))
def test_a_new_item_may_record_existing_inventory_with_the_same_expiry_rule(status: PartItemStatus) -> None:
    assert check_new_item("SN-8", None, NOW, status) == "SN-8"
    assert check_new_item("SN-8", NOW + timedelta(days=1), NOW, status) == "SN-8"
    with pytest.raises(ValidationFailed) as caught:
        check_new_item("SN-8", NOW - timedelta(days=1), NOW, status)
    assert "expiry_date" in caught.value.details["fields"]
