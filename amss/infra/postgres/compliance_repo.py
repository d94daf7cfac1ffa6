"""Compliance items in Postgres: live rows of one organization, version-checked writes.

A signed-off item is refused by the API before it gets here, and by the trigger of
migrations/00007 underneath (SQLSTATE AMS02, translated to Immutable).
"""

from __future__ import annotations

import uuid

import asyncpg

from amss.app.paging import Page, PageRequest
from amss.app.sorts import COMPLIANCE_SORTS
from amss.app.tasks.ports import ComplianceFilter
from amss.domain.compliance import ComplianceItem
from amss.domain.enums import ComplianceResult
from amss.domain.errors import Conflict
from amss.infra.postgres.listing import Where, fetch_page
from amss.infra.postgres.sql import Connection, fetch_live_row, fetch_one

_COLUMNS = (
    "id, org_id, task_id, description, result::text AS result, sign_off_user_id, sign_off_time, version,"
    " created_at, updated_at, deleted_at"
)


def compliance_from_row(row: asyncpg.Record) -> ComplianceItem:
    values = dict(row)
    values["result"] = ComplianceResult(values["result"])
    return ComplianceItem(**values)


class PgComplianceRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, org_id: uuid.UUID, task_id: uuid.UUID, description: str) -> ComplianceItem:
        row = await fetch_one(
            self._conn,
            f"INSERT INTO compliance_items (org_id, task_id, description) VALUES ($1, $2, $3) RETURNING {_COLUMNS}",
            org_id,
            task_id,
            description,
        )
        return compliance_from_row(row)

    async def get(self, org_id: uuid.UUID, item_id: uuid.UUID, *, for_update: bool = False) -> ComplianceItem | None:
        row = await fetch_live_row(self._conn, "compliance_items", _COLUMNS, org_id, item_id, for_update=for_update)
        return compliance_from_row(row) if row else None

    async def for_task(self, org_id: uuid.UUID, task_id: uuid.UUID) -> list[ComplianceItem]:
        rows = await self._conn.fetch(
            f"SELECT {_COLUMNS} FROM compliance_items WHERE org_id = $1 AND task_id = $2 AND deleted_at IS NULL"
            " ORDER BY created_at, id",
            org_id,
            task_id,
        )
        return [compliance_from_row(row) for row in rows]

    async def list_page(
        self, org_id: uuid.UUID, page: PageRequest, compliance_filter: ComplianceFilter
    ) -> Page[ComplianceItem]:
        where = Where("org_id = {}", org_id).add("deleted_at IS NULL")
        where.add_if(compliance_filter.task_id, "task_id = {}")
        result = compliance_filter.result.value if compliance_filter.result else None
        where.add_if(result, "result = {}::compliance_result")
        # the expression of compliance_items_org_signed_created_idx, so that both answers are index ranges
        where.add_if(compliance_filter.signed, "(sign_off_time IS NOT NULL) = {}::boolean")
        return await fetch_page(
            self._conn, f"SELECT {_COLUMNS} FROM compliance_items", where, page, COMPLIANCE_SORTS, compliance_from_row
        )

    async def save(self, current: ComplianceItem, updated: ComplianceItem) -> ComplianceItem:
        row = await self._conn.fetchrow(
            "UPDATE compliance_items SET description = $4, result = $5, sign_off_user_id = $6, sign_off_time = $7,"
            " version = version + 1, updated_at = now()"
            f" WHERE org_id = $1 AND id = $2 AND version = $3 AND deleted_at IS NULL RETURNING {_COLUMNS}",
            current.org_id,
            current.id,
            current.version,
            updated.description,
            updated.result.value,
            updated.sign_off_user_id,
            updated.sign_off_time,
        )
        if row is None:
            raise Conflict("the compliance item was changed concurrently; read it again")
        return compliance_from_row(row)
