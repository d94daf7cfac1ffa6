"""Maintenance-program use cases: create, read, list, update, soft delete (plain service calls, no actor).

Every mutation writes the row (its version grows by one) and exactly one audit row, in one
unit of work. A program without an aircraft is a template: it is never due and never generates
tasks. Name uniqueness among live programs of one aircraft (templates form one group) is the
database's partial unique index; a clash is 409.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from amss.app.paging import Page, PageRequest
from amss.app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from amss.app.programs.ports import NewProgram, ProgramFilter, ProgramRepository
from amss.app.views import json_value, utc_text
from amss.domain.audit import audit_entry
from amss.domain.enums import AuditAction
from amss.domain.errors import NotFound, ValidationFailed
from amss.domain.principal import Actor
from amss.domain.programs import MaintenanceProgram, check_interval, check_last_performed, normalized_name
from amss.domain.versioning import changed_values, check_expected_version

ENTITY: Final = "maintenance_program"
EDITABLE: Final = ("name", "interval_value", "last_performed", "last_performed_usage")
NULLABLE: Final = frozenset({"last_performed", "last_performed_usage"})


def program_view(program: MaintenanceProgram) -> dict[str, Any]:
    return {
        "id": str(program.id),
        "org_id": str(program.org_id),
        "aircraft_id": str(program.aircraft_id) if program.aircraft_id else None,
        "name": program.name,
        "interval_type": program.interval_type.value,
        "interval_value": program.interval_value,
        "last_performed": utc_text(program.last_performed),
        "last_performed_usage": program.last_performed_usage,
        "version": program.version,
        "created_at": utc_text(program.created_at),
        "updated_at": utc_text(program.updated_at),
    }


def _changes_detail(before: MaintenanceProgram, after: MaintenanceProgram, fields: list[str]) -> dict[str, Any]:
    return {
        name: {"from": json_value(getattr(before, name)), "to": json_value(getattr(after, name))} for name in fields
    }


def _repo(uow: UnitOfWork) -> ProgramRepository:
    return uow.programs


class ProgramService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def create(self, actor: Actor, org_id: uuid.UUID, new: NewProgram) -> MaintenanceProgram:
        new = NewProgram(
            name=normalized_name(new.name),
            interval_type=new.interval_type,
            interval_value=new.interval_value,
            aircraft_id=new.aircraft_id,
            last_performed=new.last_performed,
            last_performed_usage=new.last_performed_usage,
        )
        check_interval(new.interval_type, new.interval_value)
        check_last_performed(new.last_performed, new.last_performed_usage, self._clock())
        async with self._uow() as uow:
            repo = _repo(uow)
            if new.aircraft_id is not None and not await repo.aircraft_exists(org_id, new.aircraft_id):
                raise ValidationFailed.on_field("aircraft_id", "does not exist in this organization")
            program = await repo.add(org_id, new)
            details = {
                name: json_value(getattr(program, name))
                for name in ("name", "interval_type", "interval_value", "last_performed", "last_performed_usage")
            }
            details["aircraft_id"] = str(program.aircraft_id) if program.aircraft_id else None
            await uow.audit.add(
                audit_entry(actor, org_id, ENTITY, program.id, AuditAction.CREATE, program.version, details)
            )
            await uow.commit()
        return program

    async def get(self, org_id: uuid.UUID, program_id: uuid.UUID) -> MaintenanceProgram:
        async with self._uow() as uow:
            program = await _repo(uow).get(org_id, program_id)
        if program is None:
            raise NotFound("maintenance program not found")
        return program

    async def list_page(
        self, org_id: uuid.UUID, page: PageRequest, program_filter: ProgramFilter
    ) -> Page[MaintenanceProgram]:
        async with self._uow() as uow:
            return await _repo(uow).list_page(org_id, page, program_filter)

    async def update(
        self,
        actor: Actor,
        org_id: uuid.UUID,
        program_id: uuid.UUID,
        changes: Mapping[str, object],
        expected_version: int | None,
    ) -> MaintenanceProgram:
        checked = dict(changes)
        unknown = sorted(set(checked) - set(EDITABLE))
        if unknown:
            raise ValidationFailed.on_field(unknown[0], "unknown field")
        for name, value in checked.items():
            if value is None and name not in NULLABLE:
                raise ValidationFailed.on_field(name, "must not be null")
        if isinstance(name_value := checked.get("name"), str):
            checked["name"] = normalized_name(name_value)
        performed = checked.get("last_performed")
        usage = checked.get("last_performed_usage")
        check_last_performed(
            performed if isinstance(performed, datetime) else None,
            usage if isinstance(usage, int) else None,
            self._clock(),
        )
        async with self._uow() as uow:
            repo = _repo(uow)
            current = await repo.get(org_id, program_id, for_update=True)
            if current is None:
                raise NotFound("maintenance program not found")
            check_expected_version(current.version, expected_version)
            if isinstance(interval := checked.get("interval_value"), int):
                check_interval(current.interval_type, interval)
            changed = changed_values(current, checked)
            if not changed:
                return current
            updated = await repo.update(current, changed)
            details = {"changes": _changes_detail(current, updated, sorted(changed))}
            await uow.audit.add(
                audit_entry(actor, org_id, ENTITY, updated.id, AuditAction.UPDATE, updated.version, details)
            )
            await uow.commit()
        return updated

    async def delete(
        self, actor: Actor, org_id: uuid.UUID, program_id: uuid.UUID, expected_version: int | None
    ) -> None:
        async with self._uow() as uow:
            repo = _repo(uow)
            current = await repo.get(org_id, program_id, for_update=True)
            if current is None:
                raise NotFound("maintenance program not found")
            check_expected_version(current.version, expected_version)
            deleted = await repo.soft_delete(current, self._clock())
            await uow.audit.add(
                audit_entry(
                    actor, org_id, ENTITY, deleted.id, AuditAction.DELETE, deleted.version, {"name": deleted.name}
                )
            )
            await uow.commit()
