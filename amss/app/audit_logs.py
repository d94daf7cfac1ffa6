"""The audit trail of the caller's organization: filtered pages, a full export in chunks, and the record of an
action an external system performed (gRPC AuditService.LogAction)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncGenerator
from datetime import timedelta
from typing import Any, Final

from amss.app.paging import Page, PageRequest
from amss.app.ports import UnitOfWorkFactory
from amss.domain.audit import AuditFilter, AuditRecord, audit_entry
from amss.domain.enums import AuditAction
from amss.domain.errors import ValidationFailed
from amss.domain.principal import Actor, Principal

# rows per chunk of an export: one short transaction (and pool connection) each
EXPORT_CHUNK_ROWS: Final = 500
_TICK: Final = timedelta(microseconds=1)  # timestamptz resolution


class AuditLogService:
    def __init__(self, uow: UnitOfWorkFactory, *, export_chunk_rows: int = EXPORT_CHUNK_ROWS) -> None:
        if export_chunk_rows < 1:
            raise ValueError("export_chunk_rows must be at least 1")
        self._uow = uow
        self._chunk_rows = export_chunk_rows

    async def log_action(
        self,
        actor: Actor,
        org_id: uuid.UUID,
        entity_type: str,
        entity_id: uuid.UUID,
        action: AuditAction,
        details: dict[str, Any],
    ) -> AuditRecord:
        """One audit row for an action performed elsewhere. Who acted (user, request id, address, user agent)
        is `actor`, from the call's credentials and metadata; `details.actor` is the server's to write."""
        if "actor" in details:
            raise ValidationFailed.on_field("details.actor", "is recorded by the server from the credentials")
        if actor.request_id is None:
            raise ValueError("an external action is recorded with the request id of its call")
        async with self._uow() as uow:
            await uow.audit.add(audit_entry(actor, org_id, entity_type, entity_id, action, 0, details))
            await uow.commit()
        async with self._uow() as uow:
            page = await uow.audit.list_page(
                org_id,
                PageRequest(limit=50, sort="timestamp", descending=True),
                AuditFilter(entity_type=entity_type, entity_id=entity_id, action=action),
            )
        for record in page.items:
            if record.request_id == actor.request_id:
                return record
        raise RuntimeError("the audit row just written was not found")

    async def list_page(self, principal: Principal, page: PageRequest, audit_filter: AuditFilter) -> Page[AuditRecord]:
        async with self._uow() as uow:
            return await uow.audit.list_page(principal.org_id, page, audit_filter)

    async def export(self, principal: Principal, audit_filter: AuditFilter) -> AsyncGenerator[AuditRecord, None]:
        """Every matching row stamped up to the export's start, oldest first (timestamp, then id), each once.

        Read in keyset chunks, each in its own short unit of work that is over before the chunk is
        yielded, so a slow reader holds no pool connection. Audit rows are immutable and the bound
        is fixed at the start, so rows appended meanwhile are left out and no row repeats or moves.
        Every row committed before the export started is in it. A row of a transaction that was
        still open at the start carries that transaction's (earlier) start time: it is in the
        export if it committed before the reader got past its place, otherwise not.
        """
        async with self._uow() as uow:
            started = await uow.audit.now()
        bounded = dataclasses.replace(audit_filter, until=min(audit_filter.until or started + _TICK, started + _TICK))
        page = PageRequest(limit=self._chunk_rows, sort="timestamp", descending=False)
        while True:
            async with self._uow() as uow:
                chunk = await uow.audit.list_page(principal.org_id, page, bounded)
            for record in chunk.items:
                yield record
            if chunk.next_after is None:
                return
            page = dataclasses.replace(page, after=chunk.next_after)
