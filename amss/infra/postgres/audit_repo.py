"""audit_logs: a unit of work's rows (collected in its journal, written when it commits) and the reads.

Insert only: the table's triggers reject any other change."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from amss.app.paging import Page, PageRequest
from amss.app.sorts import AUDIT_SORTS
from amss.domain.audit import AuditEntry, AuditFilter, AuditRecord
from amss.domain.enums import AuditAction
from amss.infra.postgres.journal import Journal
from amss.infra.postgres.listing import Where, fetch_page
from amss.infra.postgres.sql import Connection

_COLUMNS = (
    "id, org_id, entity_type, entity_id, action::text AS action, user_id, request_id, ip_address, user_agent,"
    ' entity_version, "timestamp", details'
)

_INSERT = """
INSERT INTO audit_logs (org_id, entity_type, entity_id, action, user_id, request_id,
                        ip_address, user_agent, entity_version, details)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
"""


async def insert_audit_entry(conn: Connection, entry: AuditEntry) -> None:
    await conn.execute(
        _INSERT,
        entry.org_id,
        entry.entity_type,
        entry.entity_id,
        entry.action.value,
        entry.user_id,
        entry.request_id,
        entry.ip_address,
        entry.user_agent,
        entry.entity_version,
        entry.details,
    )


def _record(row: asyncpg.Record) -> AuditRecord:
    values = dict(row)
    values["action"] = AuditAction(values["action"])
    return AuditRecord(**values)


def _where(org_id: uuid.UUID, audit_filter: AuditFilter) -> Where:
    where = Where("org_id = {}", org_id)
    where.add_if(audit_filter.entity_type, "entity_type = {}")
    where.add_if(audit_filter.entity_id, "entity_id = {}")
    where.add_if(audit_filter.user_id, "user_id = {}")
    where.add_if(audit_filter.action.value if audit_filter.action else None, "action = {}::audit_action")
    where.add_if(audit_filter.since, '"timestamp" >= {}')
    where.add_if(audit_filter.until, '"timestamp" < {}')
    return where


class PgAuditRepository:
    def __init__(self, conn: Connection, journal: Journal) -> None:
        self._conn = conn
        self._journal = journal

    async def add(self, entry: AuditEntry) -> None:
        """Collected in the unit of work's journal: written with its outbox events as the unit of work commits."""
        self._journal.audit(entry)

    async def list_page(self, org_id: uuid.UUID, page: PageRequest, audit_filter: AuditFilter) -> Page[AuditRecord]:
        select = f"SELECT {_COLUMNS} FROM audit_logs"
        return await fetch_page(self._conn, select, _where(org_id, audit_filter), page, AUDIT_SORTS, _record)

    async def now(self) -> datetime:
        # statement_timestamp(), not now(): the moment of this query even inside a longer transaction
        return await self._conn.fetchval("SELECT statement_timestamp()")  # type: ignore[no-any-return]
