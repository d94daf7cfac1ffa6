"""The audit trail: filtered, paginated reads for every role, and a streamed CSV export for auditors."""

from __future__ import annotations

import contextlib
import re
import uuid
from datetime import datetime
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from amss.api.rest.bodies import json_response, page_body, page_request, read_query
from amss.api.rest.context import principal_of
from amss.api.rest.routing import RouteSpec
from amss.api.rest.schemas import Out, Timestamp
from amss.api.rest.services import SERVICES
from amss.app.csv_cells import CsvWriter
from amss.app.sorts import AUDIT_SORTS
from amss.auth.rbac import Action, Resource
from amss.domain.audit import AuditFilter, AuditRecord
from amss.domain.enums import AuditAction
from amss.domain.errors import ValidationFailed

CSV_COLUMNS = (
    "id",
    "timestamp",
    "entity_type",
    "entity_id",
    "action",
    "user_id",
    "entity_version",
    "request_id",
    "ip_address",
    "user_agent",
    "details",
)
_FLUSH_ROWS = 200


class AuditQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    entity_type: str | None = Field(default=None, max_length=100)
    entity_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    action: AuditAction | None = None
    since: Timestamp | None = Field(default=None, alias="from")
    until: Timestamp | None = Field(default=None, alias="to")

    def to_filter(self) -> AuditFilter:
        if self.since and self.until and self.since >= self.until:
            raise ValidationFailed.on_field("to", "must be later than from")
        return AuditFilter(self.entity_type, self.entity_id, self.user_id, self.action, self.since, self.until)


class AuditLogOut(Out):
    id: uuid.UUID
    org_id: uuid.UUID
    entity_type: str
    entity_id: uuid.UUID
    action: AuditAction
    user_id: uuid.UUID | None
    request_id: uuid.UUID | None
    ip_address: str | None
    user_agent: str | None
    entity_version: int
    timestamp: datetime
    details: dict[str, Any]


def _out(record: AuditRecord) -> AuditLogOut:
    return AuditLogOut.model_validate(record)


async def list_audit_logs(request: web.Request) -> web.Response:
    audit_filter = read_query(request, AuditQuery).to_filter()
    page = page_request(request, AUDIT_SORTS, default_sort="-timestamp")
    result = await request.app[SERVICES].audit_logs.list_page(principal_of(request), page, audit_filter)
    return json_response(page_body(result, page, _out))


def export_file_name(query: AuditQuery) -> str:
    """`audit-logs[_name-value…].csv`, the filters echoed in a file-system-safe form."""
    parts = ["audit-logs"]
    for name, value in (
        ("entity_type", query.entity_type),
        ("entity_id", query.entity_id),
        ("user_id", query.user_id),
        ("action", query.action.value if query.action else None),
        ("from", query.since.isoformat() if query.since else None),
        ("to", query.until.isoformat() if query.until else None),
    ):
        if value is not None:
            parts.append(f"{name}-{re.sub(r'[^A-Za-z0-9._-]+', '', str(value))}")
    return "_".join(parts) + ".csv"


def csv_row(record: AuditRecord) -> list[object]:
    return [
        record.id,
        record.timestamp.isoformat().replace("+00:00", "Z"),
        record.entity_type,
        record.entity_id,
        record.action.value,
        record.user_id,
        record.entity_version,
        record.request_id,
        record.ip_address,
        record.user_agent,
        orjson.dumps(record.details, option=orjson.OPT_SORT_KEYS).decode(),
    ]


async def export_audit_logs(request: web.Request) -> web.StreamResponse:
    query = read_query(request, AuditQuery)
    audit_filter = query.to_filter()
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{export_file_name(query)}"',
            "Cache-Control": "no-store",
        }
    )
    records = request.app[SERVICES].audit_logs.export(principal_of(request), audit_filter)
    async with contextlib.aclosing(records):
        writer = CsvWriter()
        writer.row(CSV_COLUMNS)
        rows = 0
        async for record in records:
            if not response.prepared:
                await response.prepare(request)
            writer.row(csv_row(record))
            rows += 1
            if rows % _FLUSH_ROWS == 0:
                await response.write(writer.take())
        if not response.prepared:
            await response.prepare(request)
        await response.write(writer.take())
    await response.write_eof()
    return response


_AUDIT = Resource.AUDIT_LOGS
ROUTES = [
    RouteSpec(
        "GET",
        "/api/v1/audit-logs",
        list_audit_logs,
        "audit_logs.list",
        "List the organization's audit log (filters: entity_type, entity_id, user_id, action, from, to)",
        (_AUDIT, Action.READ),
        "read",
        query_model=AuditQuery,
        response_model=AuditLogOut,
        response_is_list=True,
        sorts=tuple(AUDIT_SORTS),
        tag="audit",
    ),
    RouteSpec(
        "GET",
        "/api/v1/audit-logs/export",
        export_audit_logs,
        "audit_logs.export",
        "Export the audit log as CSV (auditor, admin), with the same filters",
        (_AUDIT, Action.EXPORT),
        "export",
        query_model=AuditQuery,
        tag="audit",
        media_type="text/csv",
    ),
]
