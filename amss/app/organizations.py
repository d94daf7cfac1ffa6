"""Organizations and their policies: create (admin), read, list (admin), update (admin or own tenant_admin)."""

from __future__ import annotations

import uuid
from typing import Any

from amss.app.paging import Page, PageRequest
from amss.app.ports import UnitOfWorkFactory
from amss.domain.audit import audit_entry
from amss.domain.enums import AuditAction, Role
from amss.domain.errors import Forbidden, NotFound, ValidationFailed
from amss.domain.organizations import Organization, OrgPolicy, policy_problems
from amss.domain.principal import Actor, Principal
from amss.domain.versioning import changed_values, check_expected_version


def _visible(principal: Principal, org_id: uuid.UUID) -> bool:
    return principal.is_admin or principal.home_org_id == org_id


class OrganizationService:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def create(self, actor: Actor, name: str) -> Organization:
        async with self._uow() as uow:
            organization = await uow.organizations.add(name)
            policy = await uow.organizations.add_policy(organization.id)
            details = {"name": name, "policy": {"version": policy.version}}
            await uow.audit.add(
                audit_entry(actor, organization.id, "organization", organization.id, AuditAction.CREATE, 1, details)
            )
            await uow.commit()
        return organization

    async def get(self, principal: Principal, org_id: uuid.UUID) -> Organization:
        async with self._uow() as uow:
            organization = await uow.organizations.get(org_id) if _visible(principal, org_id) else None
        if organization is None:
            raise NotFound("organization not found")
        return organization

    async def list_page(self, page: PageRequest, name: str | None) -> Page[Organization]:
        async with self._uow() as uow:
            return await uow.organizations.list_page(page, name)

    async def update(
        self,
        actor: Actor,
        principal: Principal,
        org_id: uuid.UUID,
        changes: dict[str, Any],
        expected_version: int | None,
    ) -> Organization:
        if not _visible(principal, org_id):
            raise NotFound("organization not found")
        if principal.role not in (Role.ADMIN, Role.TENANT_ADMIN):
            raise Forbidden("only an admin or the organization's tenant_admin may update it")
        async with self._uow() as uow:
            current = await uow.organizations.get(org_id, for_update=True)
            if current is None:
                raise NotFound("organization not found")
            check_expected_version(current.version, expected_version)
            changes = changed_values(current, changes)
            if not changes:
                return current
            updated = await uow.organizations.update(current, changes)
            await uow.audit.add(
                audit_entry(
                    actor, org_id, "organization", org_id, AuditAction.UPDATE, updated.version, {"changes": changes}
                )
            )
            await uow.commit()
        return updated

    async def get_policy(self, principal: Principal, org_id: uuid.UUID) -> OrgPolicy:
        async with self._uow() as uow:
            policy = await uow.organizations.get_policy(org_id) if _visible(principal, org_id) else None
            if policy is not None and await uow.organizations.get(org_id) is None:
                policy = None
        if policy is None:
            raise NotFound("organization not found")
        return policy

    async def update_policy(
        self,
        actor: Actor,
        principal: Principal,
        org_id: uuid.UUID,
        changes: dict[str, Any],
        expected_version: int | None,
    ) -> OrgPolicy:
        if not _visible(principal, org_id):
            raise NotFound("organization not found")
        problems = policy_problems(changes)
        if problems:
            raise ValidationFailed("invalid policy values", {"fields": problems})
        async with self._uow() as uow:
            if await uow.organizations.get(org_id) is None:
                raise NotFound("organization not found")
            current = await uow.organizations.get_policy(org_id, for_update=True)
            if current is None:
                raise NotFound("organization not found")
            check_expected_version(current.version, expected_version)
            changes = changed_values(current, changes)
            if not changes:
                return current
            updated = await uow.organizations.update_policy(current, changes)
            await uow.audit.add(
                audit_entry(
                    actor,
                    org_id,
                    "org_policy",
                    org_id,
                    AuditAction.UPDATE,
                    updated.version,
                    {"changes": changes},
                )
            )
            await uow.commit()
        return updated
