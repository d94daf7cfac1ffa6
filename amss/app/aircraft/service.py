"""Aircraft use cases: create, read, list, update (fields and explicit status), soft delete, usage, grounding rules.

Every mutation writes the row (its version grows by one), exactly one audit row and — when the
status changes — one `aircraft_status_updated` outbox event, in one unit of work. Updates,
deletes and usage run inside the aircraft's actor (amss/app/aircraft/handlers.py), whose unit
of work is bound to the command's transaction; create is a plain call (no actor exists yet).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from amss.app.aircraft.ports import AircraftFilter, NewAircraft
from amss.app.paging import Page, PageRequest
from amss.app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from amss.app.views import json_value, utc_text
from amss.domain.aircraft import (
    Aircraft,
    StatusFacts,
    automatic_status,
    check_capacity_slots,
    check_maintenance_dates,
    check_may_delete,
    check_transition,
    grounding_origin,
    normalized_model,
    normalized_tail_number,
    record_usage,
)
from amss.domain.audit import audit_entry
from amss.domain.enums import AircraftStatus, AuditAction
from amss.domain.errors import Forbidden, NotFound
from amss.domain.events import DomainEvent, dedupe_key
from amss.domain.principal import Actor, Principal
from amss.domain.versioning import changed_values, check_expected_version

ENTITY: Final = "aircraft"
STATUS_EVENT: Final = "aircraft_status_updated"
EDITABLE: Final = ("tail_number", "model", "status", "capacity_slots", "last_maintenance", "next_due")
NULLABLE: Final = frozenset({"last_maintenance", "next_due"})


# --- checking input (shared by the REST layer, before a command is submitted, and the service) ---


def checked_new(new: NewAircraft) -> NewAircraft:
    check_capacity_slots(new.capacity_slots)
    check_maintenance_dates(new.last_maintenance, new.next_due)
    return NewAircraft(
        tail_number=normalized_tail_number(new.tail_number),
        model=normalized_model(new.model),
        status=new.status,
        grounded_by=grounding_origin(new.status, automatic=False),
        capacity_slots=new.capacity_slots,
        last_maintenance=new.last_maintenance,
        next_due=new.next_due,
    )


def checked_changes(changes: Mapping[str, object]) -> dict[str, object]:
    """Each change checked on its own; rules between fields are checked against the current aircraft later."""
    checked = dict(changes)
    if isinstance(tail_number := checked.get("tail_number"), str):
        checked["tail_number"] = normalized_tail_number(tail_number)
    if isinstance(model := checked.get("model"), str):
        checked["model"] = normalized_model(model)
    if isinstance(slots := checked.get("capacity_slots"), int):
        check_capacity_slots(slots)
    check_maintenance_dates(_date(checked, "last_maintenance", None), _date(checked, "next_due", None))
    return checked


# --- effects --------------------------------------------------------------------------------------


def status_updated_event(before: Aircraft, after: Aircraft) -> DomainEvent:
    return DomainEvent(
        event_type=STATUS_EVENT,
        org_id=after.org_id,
        aggregate_type=ENTITY,
        aggregate_id=after.id,
        occurred_at=after.updated_at,
        dedupe_key=dedupe_key(STATUS_EVENT, after.org_id, after.id, after.status.value, after.version),
        data={
            "from": before.status.value,
            "to": after.status.value,
            "tail_number": after.tail_number,
            "version": after.version,
            "updated_at": utc_text(after.updated_at),
        },
    )


def _changes_detail(before: Aircraft, after: Aircraft, fields: list[str]) -> dict[str, Any]:
    return {
        name: {"from": json_value(getattr(before, name)), "to": json_value(getattr(after, name))} for name in fields
    }


class AircraftService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, grounding_lead_time: timedelta) -> None:
        self._uow = uow
        self._clock = clock
        self._lead_time = grounding_lead_time

    async def create(self, actor: Actor, org_id: uuid.UUID, new: NewAircraft) -> Aircraft:
        new = checked_new(new)
        async with self._uow() as uow:
            aircraft = await uow.aircraft.add(org_id, new)
            details = {name: json_value(getattr(aircraft, name)) for name in EDITABLE}
            await uow.audit.add(
                audit_entry(actor, org_id, ENTITY, aircraft.id, AuditAction.CREATE, aircraft.version, details)
            )
            await uow.commit()
        return aircraft

    async def get(self, org_id: uuid.UUID, aircraft_id: uuid.UUID) -> Aircraft:
        async with self._uow() as uow:
            aircraft = await uow.aircraft.get(org_id, aircraft_id)
        if aircraft is None:
            raise NotFound("aircraft not found")
        return aircraft

    async def list_page(self, org_id: uuid.UUID, page: PageRequest, aircraft_filter: AircraftFilter) -> Page[Aircraft]:
        async with self._uow() as uow:
            return await uow.aircraft.list_page(org_id, page, aircraft_filter)

    async def update(
        self,
        actor: Actor,
        org_id: uuid.UUID,
        aircraft_id: uuid.UUID,
        changes: Mapping[str, object],
        expected_version: int | None,
    ) -> Aircraft:
        """Change fields and, explicitly, the status (a state_change, checked by the status machine)."""
        changes = checked_changes(changes)
        async with self._uow() as uow:
            current = await _locked(uow, org_id, aircraft_id)
            check_expected_version(current.version, expected_version)
            if isinstance(status := changes.get("status"), AircraftStatus):
                # a person's explicit status: a grounding is theirs (manual), even one a task made
                _person(actor)
                changes = {**changes, "grounded_by": grounding_origin(status, automatic=False)}
            changed = changed_values(current, changes)
            if not changed:
                return current
            check_maintenance_dates(
                _date(changed, "last_maintenance", current.last_maintenance),
                _date(changed, "next_due", current.next_due),
            )
            target = changed.get("status")
            if isinstance(target, AircraftStatus):
                await self._check_explicit_status(uow, actor, current, target)
            updated = await uow.aircraft.update(current, changed)
            action = AuditAction.STATE_CHANGE if target is not None else AuditAction.UPDATE
            details = {"changes": _changes_detail(current, updated, sorted(changed))}
            await uow.audit.add(audit_entry(actor, org_id, ENTITY, updated.id, action, updated.version, details))
            if target is not None:
                await uow.outbox.add(status_updated_event(current, updated))
            await uow.commit()
        return updated

    async def delete(
        self, actor: Actor, org_id: uuid.UUID, aircraft_id: uuid.UUID, expected_version: int | None
    ) -> None:
        async with self._uow() as uow:
            current = await _locked(uow, org_id, aircraft_id)
            check_expected_version(current.version, expected_version)
            check_may_delete(await uow.aircraft.active_tasks(org_id, aircraft_id))
            deleted = await uow.aircraft.soft_delete(current, self._clock())
            await uow.audit.add(
                audit_entry(
                    actor,
                    org_id,
                    ENTITY,
                    deleted.id,
                    AuditAction.DELETE,
                    deleted.version,
                    {"tail_number": deleted.tail_number},
                )
            )
            await uow.commit()

    async def record_usage(
        self, actor: Actor, org_id: uuid.UUID, aircraft_id: uuid.UUID, flight_hours: int, cycles: int
    ) -> Aircraft:
        """Add flown hours and cycles to the counters; usage of nothing changes (and records) nothing."""
        async with self._uow() as uow:
            current = await _locked(uow, org_id, aircraft_id)
            if record_usage(current, flight_hours=flight_hours, cycles=cycles, now=self._clock()) is current:
                return current
            updated = await uow.aircraft.add_usage(current, flight_hours, cycles)
            details = {
                "usage": {"flight_hours": flight_hours, "cycles": cycles},
                "changes": _changes_detail(current, updated, ["cycles_total", "flight_hours_total"]),
            }
            await uow.audit.add(
                audit_entry(actor, org_id, ENTITY, updated.id, AuditAction.UPDATE, updated.version, details)
            )
            await uow.commit()
        return updated

    async def apply_grounding_rules(
        self, actor: Actor, org_id: uuid.UUID, aircraft_id: uuid.UUID, *, task_finished: bool
    ) -> Aircraft | None:
        """The automatic status change, if the grounding rules call for one now; None when they do not.

        For the task workflow (after a task changes, `task_finished` when it completed or was
        cancelled) and the periodic grounding check; run through the aircraft's actor."""
        async with self._uow() as uow:
            current = await _locked(uow, org_id, aircraft_id)
            tasks = tuple(await uow.aircraft.active_tasks(org_id, aircraft_id))
            now = self._clock()
            target = automatic_status(
                current.status,
                tasks,
                now,
                self._lead_time,
                task_finished=task_finished,
                grounded_by=current.grounded_by,
            )
            if target is None:
                return None
            check_transition(
                current.status, target, StatusFacts(now, self._lead_time, None, tasks, current.grounded_by)
            )
            changes = {"status": target, "grounded_by": grounding_origin(target, automatic=True)}
            updated = await uow.aircraft.update(current, changes)
            details = {"changes": _changes_detail(current, updated, sorted(changes)), "automatic": True}
            await uow.audit.add(
                audit_entry(actor, org_id, ENTITY, updated.id, AuditAction.STATE_CHANGE, updated.version, details)
            )
            await uow.outbox.add(status_updated_event(current, updated))
            await uow.commit()
        return updated

    async def _check_explicit_status(
        self, uow: UnitOfWork, actor: Actor, current: Aircraft, target: AircraftStatus
    ) -> None:
        tasks = tuple(await uow.aircraft.active_tasks(current.org_id, current.id))
        facts = StatusFacts(self._clock(), self._lead_time, _person(actor).role, tasks, current.grounded_by)
        check_transition(current.status, target, facts)


def _person(actor: Actor) -> Principal:
    if actor.principal is None:
        raise Forbidden("an explicit status change needs a user; jobs apply the grounding rules")
    return actor.principal


async def _locked(uow: UnitOfWork, org_id: uuid.UUID, aircraft_id: uuid.UUID) -> Aircraft:
    aircraft = await uow.aircraft.get(org_id, aircraft_id, for_update=True)
    if aircraft is None:
        raise NotFound("aircraft not found")
    return aircraft


def _date(changes: Mapping[str, object], name: str, current: datetime | None) -> datetime | None:
    if name not in changes:
        return current
    value = changes[name]
    return value if isinstance(value, datetime) else None
