"""Compliance-item use cases: create, read, list, edit the description before sign-off, sign off.

Items belong to a task, so their writes are commands of the task's aircraft's actor
(docs/architecture.md "The command mesh"); the task row is locked first, which also orders them
against the task's own completion. Every mutation writes exactly one audit row; a sign-off also
records `compliance_signed` (dedupe `compliance_signed:{org_id}:{item_id}`: an item is signed
once). A signed item never changes: the domain refuses it (409) and so does the trigger underneath.
"""

from __future__ import annotations

import uuid
from typing import Final

from amss.app.paging import Page, PageRequest
from amss.app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from amss.app.tasks.ports import ComplianceFilter
from amss.app.views import utc_text
from amss.domain.audit import audit_entry
from amss.domain.compliance import (
    ComplianceItem,
    SignOffFacts,
    check_may_create,
    edit,
    normalized_description,
    sign_off,
)
from amss.domain.enums import AuditAction, ComplianceResult
from amss.domain.errors import Forbidden, NotFound, ValidationFailed
from amss.domain.events import DomainEvent, dedupe_key
from amss.domain.principal import Actor, Principal
from amss.domain.tasks import MaintenanceTask
from amss.domain.versioning import check_expected_version

ENTITY: Final = "compliance_item"
SIGNED_EVENT: Final = "compliance_signed"


def signed_event(item: ComplianceItem, task: MaintenanceTask) -> DomainEvent:
    return DomainEvent(
        event_type=SIGNED_EVENT,
        org_id=item.org_id,
        aggregate_type=ENTITY,
        aggregate_id=item.id,
        occurred_at=item.sign_off_time or item.updated_at,
        dedupe_key=dedupe_key(SIGNED_EVENT, item.org_id, item.id),
        data={
            "task_id": str(item.task_id),
            "aircraft_id": str(task.aircraft_id),
            "result": item.result.value,
            "sign_off_user_id": str(item.sign_off_user_id) if item.sign_off_user_id else None,
            "sign_off_time": utc_text(item.sign_off_time),
            "version": item.version,
        },
    )


def _principal(actor: Actor) -> Principal:
    if actor.principal is None:
        raise Forbidden("a compliance change needs a user")
    return actor.principal


class ComplianceService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def aircraft_of_task(self, org_id: uuid.UUID, task_id: uuid.UUID) -> uuid.UUID:
        """Whose actor a write about this task's items runs in; a missing task is a validation error."""
        async with self._uow() as uow:
            task = await uow.tasks.get(org_id, task_id)
        if task is None:
            raise ValidationFailed.on_field("task_id", "does not exist in this organization")
        return task.aircraft_id

    async def aircraft_of_item(self, org_id: uuid.UUID, item_id: uuid.UUID) -> uuid.UUID:
        async with self._uow() as uow:
            item = await uow.compliance_items.get(org_id, item_id)
            task = await uow.tasks.get(org_id, item.task_id) if item is not None else None
        if item is None or task is None:
            raise NotFound("compliance item not found")
        return task.aircraft_id

    async def create(self, actor: Actor, org_id: uuid.UUID, task_id: uuid.UUID, description: str) -> ComplianceItem:
        principal = _principal(actor)
        text = normalized_description(description)
        async with self._uow() as uow:
            task = await uow.tasks.get(org_id, task_id, for_update=True)
            if task is None:
                raise ValidationFailed.on_field("task_id", "does not exist in this organization")
            check_may_create(principal.role, task.state)
            item = await uow.compliance_items.add(org_id, task_id, text)
            details = {"task_id": str(task_id), "description": text}
            await uow.audit.add(audit_entry(actor, org_id, ENTITY, item.id, AuditAction.CREATE, item.version, details))
            await uow.commit()
        return item

    async def get(self, org_id: uuid.UUID, item_id: uuid.UUID) -> ComplianceItem:
        async with self._uow() as uow:
            item = await uow.compliance_items.get(org_id, item_id)
        if item is None:
            raise NotFound("compliance item not found")
        return item

    async def list_page(
        self, org_id: uuid.UUID, page: PageRequest, compliance_filter: ComplianceFilter
    ) -> Page[ComplianceItem]:
        async with self._uow() as uow:
            return await uow.compliance_items.list_page(org_id, page, compliance_filter)

    async def edit(
        self, actor: Actor, org_id: uuid.UUID, item_id: uuid.UUID, description: str, expected_version: int | None
    ) -> ComplianceItem:
        principal = _principal(actor)
        async with self._uow() as uow:
            item, task = await _locked(uow, org_id, item_id)
            check_expected_version(item.version, expected_version)
            edited = edit(item, description, principal.role, task.state, self._clock())
            if edited is item:
                return item
            saved = await uow.compliance_items.save(item, edited)
            details = {"changes": {"description": {"from": item.description, "to": saved.description}}}
            await uow.audit.add(
                audit_entry(actor, org_id, ENTITY, saved.id, AuditAction.UPDATE, saved.version, details)
            )
            await uow.commit()
        return saved

    async def sign_off(
        self, actor: Actor, org_id: uuid.UUID, item_id: uuid.UUID, result: ComplianceResult
    ) -> ComplianceItem:
        principal = _principal(actor)
        async with self._uow() as uow:
            item, task = await _locked(uow, org_id, item_id)
            facts = SignOffFacts(
                item,
                self._clock(),
                principal.role,
                principal.user_id,
                task.state,
                task.assigned_mechanic_id,
                actor_in_org=not principal.acts_for_other_org,
            )
            signed = sign_off(result, facts)
            saved = await uow.compliance_items.save(item, signed)
            details = {
                "changes": {"result": {"from": item.result.value, "to": saved.result.value}},
                "sign_off_user_id": str(saved.sign_off_user_id),
                "sign_off_time": utc_text(saved.sign_off_time),
            }
            await uow.audit.add(
                audit_entry(actor, org_id, ENTITY, saved.id, AuditAction.STATE_CHANGE, saved.version, details)
            )
            await uow.outbox.add(signed_event(saved, task))
            await uow.commit()
        return saved


async def _locked(uow: UnitOfWork, org_id: uuid.UUID, item_id: uuid.UUID) -> tuple[ComplianceItem, MaintenanceTask]:
    """The item and its task, the task locked first (the order a task's completion takes)."""
    item = await uow.compliance_items.get(org_id, item_id)
    if item is None:
        raise NotFound("compliance item not found")
    task = await uow.tasks.get(org_id, item.task_id, for_update=True)
    locked = await uow.compliance_items.get(org_id, item_id, for_update=True)
    if task is None or locked is None:
        raise NotFound("compliance item not found")
    return locked, task
