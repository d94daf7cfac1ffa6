"""Writes audit_logs rows (insert only: the table's triggers reject any other change)."""

from __future__ import annotations

from amss.domain.audit import AuditEntry
from amss.infra.postgres.sql import Connection

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


class PgAuditRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, entry: AuditEntry) -> None:
        await insert_audit_entry(self._conn, entry)
