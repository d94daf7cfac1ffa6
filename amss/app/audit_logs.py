"""Reading the audit trail of the caller's organization: filtered pages, and a full export."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from amss.app.paging import Page, PageRequest
from amss.app.ports import UnitOfWorkFactory
from amss.domain.audit import AuditFilter, AuditRecord
from amss.domain.principal import Principal


class AuditLogService:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def list_page(self, principal: Principal, page: PageRequest, audit_filter: AuditFilter) -> Page[AuditRecord]:
        async with self._uow() as uow:
            return await uow.audit.list_page(principal.org_id, page, audit_filter)

    async def export(self, principal: Principal, audit_filter: AuditFilter) -> AsyncGenerator[AuditRecord, None]:
        """Every matching row, oldest first, read from one consistent snapshot; close it to stop early."""
        async with self._uow() as uow:
            async for record in uow.audit.stream(principal.org_id, audit_filter):
                yield record
