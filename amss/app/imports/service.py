"""The import use cases of the API: accept an upload (stored, audited, announced to the workers) and read imports."""

from __future__ import annotations

import logging
import uuid

from amss.app.commands.envelope import record_actor
from amss.app.imports.ports import ImportQueue, ImportRecord, ImportRowRecord, ImportSummary, NewImport
from amss.app.paging import Page, PageRequest
from amss.app.ports import UnitOfWorkFactory
from amss.domain.audit import audit_entry
from amss.domain.enums import AuditAction, ImportRowStatus, ImportType
from amss.domain.errors import NotFound
from amss.domain.principal import Actor

log = logging.getLogger(__name__)

ENTITY = "import"


class ImportService:
    def __init__(self, uow: UnitOfWorkFactory, queue: ImportQueue) -> None:
        self._uow = uow
        self._queue = queue

    async def upload(
        self, actor: Actor, org_id: uuid.UUID, import_type: ImportType, file_name: str, content: bytes
    ) -> ImportRecord:
        """Store the file and the `pending` import with its audit row in one transaction, then enqueue it.

        An enqueue that fails is logged, not raised: the import is durable, and the worker's redriver
        enqueues imports nobody has picked up."""
        principal = record_actor(actor)
        new = NewImport(import_type, file_name, content, actor.audit_user_id(org_id), principal, actor.request_id)
        async with self._uow() as uow:
            record = await uow.imports.add(org_id, new)
            details = {"type": import_type.value, "file_name": file_name, "byte_size": len(content)}
            await uow.audit.add(
                audit_entry(actor, org_id, ENTITY, record.id, AuditAction.CREATE, record.version, details)
            )
            await uow.commit()
        try:
            await self._queue.enqueue(org_id, record.id)
        except Exception as exc:  # Redis down: the redriver enqueues it later
            log.warning(
                "import not enqueued; left to the redriver", extra={"import_id": str(record.id), "error": repr(exc)}
            )
        return record

    async def get(self, org_id: uuid.UUID, import_id: uuid.UUID) -> tuple[ImportRecord, ImportSummary]:
        """The import and its counts as they are now (they move while it runs)."""
        async with self._uow() as uow:
            record = await uow.imports.get(org_id, import_id)
            if record is None:
                raise NotFound("import not found")
            counts = record.summary if record.finished else await uow.imports.counts(org_id, import_id)
        return record, counts

    async def list_page(self, org_id: uuid.UUID, page: PageRequest) -> Page[tuple[ImportRecord, ImportSummary]]:
        async with self._uow() as uow:
            found = await uow.imports.list_page(org_id, page)
            items = [
                (record, record.summary if record.finished else await uow.imports.counts(org_id, record.id))
                for record in found.items
            ]
        return Page(items, found.next_after)

    async def rows_page(
        self, org_id: uuid.UUID, import_id: uuid.UUID, status: ImportRowStatus | None, page: PageRequest
    ) -> Page[ImportRowRecord]:
        async with self._uow() as uow:
            if await uow.imports.get(org_id, import_id) is None:
                raise NotFound("import not found")
            return await uow.imports.rows_page(org_id, import_id, status, page)
