"""Parts use cases: part definitions, part items and part reservations.

Every mutation writes its row (the version grows by one) and exactly one audit row in one unit
of work; a reservation also records a `part_reserved` outbox event. Definitions and item
creation are plain calls; item updates and deletes and every reservation write run inside the
part item's actor (amss/app/parts/handlers.py), over the command's unit of work.

Reserving holds three guards at once: the part item's actor (one command at a time per item),
a Redis lock on the item (`PartItemLocks`, for any path that bypasses the actor: the mesh off,
a redelivery racing a handoff), and, underneath, the row lock on the item plus the partial
unique index that allows one `reserved` reservation per item. Whichever guard trips, the
loser gets 409 CONFLICT.

Decisions:
- Marking a reservation used changes the part item too (status used, version + 1); that is one
  mutation, so it leaves one audit row — the reservation's — whose details name the item change.
- A part definition cannot be deleted while a live part item references it (409).
- A reserved part item cannot be deleted (409: release the reservation first).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final

from amss.app.paging import Page, PageRequest
from amss.app.parts.ports import (
    NewPartDefinition,
    NewPartItem,
    PartDefinitionFilter,
    PartItemFilter,
    ReservationFilter,
)
from amss.app.ports import Clock, PartItemLocks, UnitOfWork, UnitOfWorkFactory
from amss.app.views import json_value, utc_text
from amss.domain.audit import AuditEntry, audit_entry
from amss.domain.enums import AuditAction, ReservationState, Role
from amss.domain.errors import Conflict, Forbidden, NotFound, ValidationFailed
from amss.domain.events import DomainEvent, dedupe_key
from amss.domain.parts import (
    PartDefinition,
    PartItem,
    PartItemPatch,
    PartReservation,
    ReservationFacts,
    apply_transition,
    check_item_update,
    check_new_item,
    check_reservable,
)
from amss.domain.principal import Actor
from amss.domain.versioning import changed_values, check_expected_version

DEFINITION_ENTITY: Final = "part_definition"
ITEM_ENTITY: Final = "part_item"
RESERVATION_ENTITY: Final = "part_reservation"
RESERVED_EVENT: Final = "part_reserved"
DEFINITION_EDITABLE: Final = ("name", "category")


def normalized_definition_name(name: str) -> str:
    text = name.strip()
    if not text:
        raise ValidationFailed.on_field("name", "required")
    return text


def checked_definition_changes(changes: Mapping[str, object]) -> dict[str, object]:
    checked: dict[str, object] = {}
    for name, value in changes.items():
        if name not in DEFINITION_EDITABLE:
            raise ValidationFailed.on_field(name, "unknown field")
        if not isinstance(value, str):
            raise ValidationFailed.on_field(name, "must be a string")
        checked[name] = normalized_definition_name(value) if name == "name" else value.strip()
    return checked


def reserved_event(reservation: PartReservation) -> DomainEvent:
    return DomainEvent(
        event_type=RESERVED_EVENT,
        org_id=reservation.org_id,
        aggregate_type=RESERVATION_ENTITY,
        aggregate_id=reservation.id,
        occurred_at=reservation.created_at,
        dedupe_key=dedupe_key(RESERVED_EVENT, reservation.org_id, reservation.id),
        data={
            "reservation_id": str(reservation.id),
            "task_id": str(reservation.task_id),
            "part_item_id": str(reservation.part_item_id),
            "quantity": reservation.quantity,
            "state": reservation.state.value,
            "created_at": utc_text(reservation.created_at),
        },
    )


def _role(actor: Actor) -> Role:
    if actor.principal is None:
        raise Forbidden("this change needs a user")
    return actor.principal.role


def _changes_detail(before: object, after: object, fields: list[str]) -> dict[str, Any]:
    return {
        name: {"from": json_value(getattr(before, name)), "to": json_value(getattr(after, name))} for name in fields
    }


class PartsService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, locks: PartItemLocks) -> None:
        self._uow = uow
        self._clock = clock
        self._locks = locks

    # --- part definitions -------------------------------------------------------------------------

    async def create_definition(self, actor: Actor, org_id: uuid.UUID, new: NewPartDefinition) -> PartDefinition:
        new = NewPartDefinition(normalized_definition_name(new.name), new.category.strip())
        async with self._uow() as uow:
            definition = await uow.part_definitions.add(org_id, new)
            details = {"name": definition.name, "category": definition.category}
            await uow.audit.add(
                audit_entry(
                    actor, org_id, DEFINITION_ENTITY, definition.id, AuditAction.CREATE, definition.version, details
                )
            )
            await uow.commit()
        return definition

    async def get_definition(self, org_id: uuid.UUID, definition_id: uuid.UUID) -> PartDefinition:
        async with self._uow() as uow:
            definition = await uow.part_definitions.get(org_id, definition_id)
        if definition is None:
            raise NotFound("part definition not found")
        return definition

    async def list_definitions(
        self, org_id: uuid.UUID, page: PageRequest, definition_filter: PartDefinitionFilter
    ) -> Page[PartDefinition]:
        async with self._uow() as uow:
            return await uow.part_definitions.list_page(org_id, page, definition_filter)

    async def update_definition(
        self,
        actor: Actor,
        org_id: uuid.UUID,
        definition_id: uuid.UUID,
        changes: Mapping[str, object],
        expected_version: int | None,
    ) -> PartDefinition:
        changes = checked_definition_changes(changes)
        async with self._uow() as uow:
            current = await _locked_definition(uow, org_id, definition_id)
            check_expected_version(current.version, expected_version)
            changed = changed_values(current, changes)
            if not changed:
                return current
            updated = await uow.part_definitions.update(current, changed)
            details = {"changes": _changes_detail(current, updated, sorted(changed))}
            await uow.audit.add(
                audit_entry(actor, org_id, DEFINITION_ENTITY, updated.id, AuditAction.UPDATE, updated.version, details)
            )
            await uow.commit()
        return updated

    async def delete_definition(
        self, actor: Actor, org_id: uuid.UUID, definition_id: uuid.UUID, expected_version: int | None
    ) -> None:
        async with self._uow() as uow:
            current = await _locked_definition(uow, org_id, definition_id)
            check_expected_version(current.version, expected_version)
            items = await uow.part_definitions.live_item_count(org_id, definition_id)
            if items:
                raise Conflict(
                    f"part definition {definition_id} is still referenced by {items} part item(s)",
                    {"part_definition_id": str(definition_id), "live_items": items},
                )
            deleted = await uow.part_definitions.soft_delete(current, self._clock())
            await uow.audit.add(
                audit_entry(
                    actor,
                    org_id,
                    DEFINITION_ENTITY,
                    deleted.id,
                    AuditAction.DELETE,
                    deleted.version,
                    {"name": deleted.name},
                )
            )
            await uow.commit()

    # --- part items ------------------------------------------------------------------------------

    async def create_item(self, actor: Actor, org_id: uuid.UUID, new: NewPartItem) -> PartItem:
        new = self._checked_new_item(new)
        async with self._uow() as uow:
            item = await uow.part_items.add(org_id, new)
            await uow.audit.add(_item_created(actor, item))
            await uow.commit()
        return item

    async def create_items(self, org_id: uuid.UUID, news: Sequence[tuple[Actor, NewPartItem]]) -> list[PartItem]:
        """`create_item` for many items in one unit of work (the CSV import): the same checks and audit rows,
        one insert; any refusal refuses them all."""
        checked = [self._checked_new_item(new) for _, new in news]
        async with self._uow() as uow:
            items = await uow.part_items.add_many(org_id, checked)
            for (actor, _), item in zip(news, items, strict=True):
                await uow.audit.add(_item_created(actor, item))
            await uow.commit()
        return items

    def _checked_new_item(self, new: NewPartItem) -> NewPartItem:
        serial_number = check_new_item(new.serial_number, new.expiry_date, self._clock(), new.status)
        return NewPartItem(new.part_definition_id, serial_number, new.expiry_date, new.status)

    async def get_item(self, org_id: uuid.UUID, item_id: uuid.UUID) -> PartItem:
        async with self._uow() as uow:
            item = await uow.part_items.get(org_id, item_id)
        if item is None:
            raise NotFound("part item not found")
        return item

    async def list_items(self, org_id: uuid.UUID, page: PageRequest, item_filter: PartItemFilter) -> Page[PartItem]:
        async with self._uow() as uow:
            return await uow.part_items.list_page(org_id, page, item_filter)

    async def update_item(
        self,
        actor: Actor,
        org_id: uuid.UUID,
        item_id: uuid.UUID,
        patch: PartItemPatch,
        expected_version: int | None,
    ) -> PartItem:
        """The limited edits of amss.domain.parts.check_item_update; run in the part item's actor."""
        role = _role(actor)
        async with self._uow() as uow:
            current = await _locked_item(uow, org_id, item_id)
            check_expected_version(current.version, expected_version)
            reserved = await uow.part_reservations.active_for_item(org_id, item_id) is not None
            changes = check_item_update(current, patch, actor_role=role, now=self._clock(), item_reserved=reserved)
            if not changes:
                return current
            updated = await uow.part_items.update(current, changes)
            action = AuditAction.STATE_CHANGE if "status" in changes else AuditAction.UPDATE
            details = {"changes": _changes_detail(current, updated, sorted(changes))}
            await uow.audit.add(audit_entry(actor, org_id, ITEM_ENTITY, updated.id, action, updated.version, details))
            await uow.commit()
        return updated

    async def delete_item(
        self, actor: Actor, org_id: uuid.UUID, item_id: uuid.UUID, expected_version: int | None
    ) -> None:
        async with self._uow() as uow:
            current = await _locked_item(uow, org_id, item_id)
            check_expected_version(current.version, expected_version)
            if await uow.part_reservations.active_for_item(org_id, item_id) is not None:
                raise Conflict(
                    f"part item {item_id} is reserved; release the reservation first", {"part_item_id": str(item_id)}
                )
            deleted = await uow.part_items.soft_delete(current, self._clock())
            details = {"serial_number": deleted.serial_number}
            await uow.audit.add(
                audit_entry(actor, org_id, ITEM_ENTITY, deleted.id, AuditAction.DELETE, deleted.version, details)
            )
            await uow.commit()

    # --- part reservations -----------------------------------------------------------------------

    async def reserve(
        self, actor: Actor, org_id: uuid.UUID, task_id: uuid.UUID, part_item_id: uuid.UUID, quantity: int = 1
    ) -> PartReservation:
        """Reserve an available part item for a live task, under the item's Redis lock and row lock."""
        role = _role(actor)
        async with self._locks.hold(org_id, part_item_id), self._uow() as uow:
            item = await uow.part_items.get(org_id, part_item_id, for_update=True)
            if item is None:
                raise ValidationFailed.on_field("part_item_id", "does not exist in this organization")
            task = await uow.part_reservations.task_facts(org_id, task_id, for_share=True)
            if task is None:
                raise ValidationFailed.on_field("task_id", "does not exist in this organization")
            reserved = await uow.part_reservations.active_for_item(org_id, part_item_id) is not None
            check_reservable(
                item, task.state, self._clock(), actor_role=role, item_reserved=reserved, quantity=quantity
            )
            reservation = await uow.part_reservations.add(org_id, task_id, part_item_id, quantity)
            details = {
                "task_id": str(task_id),
                "part_item_id": str(part_item_id),
                "quantity": reservation.quantity,
                "state": reservation.state.value,
            }
            await uow.audit.add(
                audit_entry(
                    actor,
                    org_id,
                    RESERVATION_ENTITY,
                    reservation.id,
                    AuditAction.CREATE,
                    reservation.version,
                    details,
                )
            )
            await uow.outbox.add(reserved_event(reservation))
            await uow.commit()
        return reservation

    async def get_reservation(self, org_id: uuid.UUID, reservation_id: uuid.UUID) -> PartReservation:
        async with self._uow() as uow:
            reservation = await uow.part_reservations.get(org_id, reservation_id)
        if reservation is None:
            raise NotFound("part reservation not found")
        return reservation

    async def list_reservations(
        self, org_id: uuid.UUID, page: PageRequest, reservation_filter: ReservationFilter
    ) -> Page[PartReservation]:
        async with self._uow() as uow:
            return await uow.part_reservations.list_page(org_id, page, reservation_filter)

    async def change_reservation_state(
        self,
        actor: Actor,
        org_id: uuid.UUID,
        reservation_id: uuid.UUID,
        target: ReservationState,
        expected_version: int | None,
    ) -> PartReservation:
        """reserved -> used (the item becomes used) or reserved -> released (the item stays in_stock)."""
        if actor.principal is None:
            raise Forbidden("a reservation changes state only for a user")
        principal = actor.principal
        async with self._uow() as uow:
            current = await uow.part_reservations.get(org_id, reservation_id, for_update=True)
            if current is None:
                raise NotFound("part reservation not found")
            check_expected_version(current.version, expected_version)
            item = await uow.part_items.get(org_id, current.part_item_id, for_update=True, include_deleted=True)
            task = await uow.part_reservations.task_facts(org_id, current.task_id, include_deleted=True)
            if item is None or task is None:
                raise Conflict("the reservation's task or part item is gone")
            facts = ReservationFacts(
                now=self._clock(),
                actor_role=principal.role,
                actor_user_id=principal.user_id,
                task_state=task.state,
                task_assigned_mechanic_id=task.assigned_mechanic_id,
                item=item,
            )
            _, item_after = apply_transition(current, target, facts)
            updated = await uow.part_reservations.set_state(current, target)
            details: dict[str, Any] = {"changes": _changes_detail(current, updated, ["state"])}
            if item_after.status is not item.status:
                changed_item = await uow.part_items.update(item, {"status": item_after.status})
                details["part_item"] = {
                    "id": str(item.id),
                    "changes": _changes_detail(item, changed_item, ["status"]),
                    "version": changed_item.version,
                }
            await uow.audit.add(
                audit_entry(
                    actor, org_id, RESERVATION_ENTITY, updated.id, AuditAction.STATE_CHANGE, updated.version, details
                )
            )
            await uow.commit()
        return updated


async def _locked_definition(uow: UnitOfWork, org_id: uuid.UUID, definition_id: uuid.UUID) -> PartDefinition:
    definition = await uow.part_definitions.get(org_id, definition_id, for_update=True)
    if definition is None:
        raise NotFound("part definition not found")
    return definition


def _item_created(actor: Actor, item: PartItem) -> AuditEntry:
    details = {
        name: json_value(getattr(item, name))
        for name in ("part_definition_id", "serial_number", "status", "expiry_date")
    }
    details["part_definition_id"] = str(item.part_definition_id)
    return audit_entry(actor, item.org_id, ITEM_ENTITY, item.id, AuditAction.CREATE, item.version, details)


async def _locked_item(uow: UnitOfWork, org_id: uuid.UUID, item_id: uuid.UUID) -> PartItem:
    item = await uow.part_items.get(org_id, item_id, for_update=True)
    if item is None:
        raise NotFound("part item not found")
    return item
