"""CSV imports: upload a file (202; a worker validates and applies it), follow its progress, read its rows."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from amss.api.rest.bodies import json_response, page_body, page_request, path_id, read_query
from amss.api.rest.context import actor_of, principal_of
from amss.api.rest.routing import RouteSpec
from amss.api.rest.schemas import Out
from amss.api.rest.services import SERVICES
from amss.api.rest.uploads import read_upload, upload_digest
from amss.app.imports.ports import ImportRecord, ImportRowRecord, ImportSummary
from amss.app.sorts import IMPORT_ROW_SORTS, IMPORT_SORTS
from amss.auth.rbac import Action, Resource
from amss.domain.enums import ImportRowStatus, ImportStatus, ImportType


class ImportUpload(BaseModel):
    """The multipart/form-data fields of an upload."""

    model_config = ConfigDict(extra="forbid")
    type: ImportType = Field(description="what the file holds; its header names that type's columns")
    file: bytes = Field(description="the CSV file: UTF-8 (a BOM is fine), a header row, at most MAX_UPLOAD_BYTES")


class ImportAccepted(Out):
    import_id: uuid.UUID
    status: ImportStatus


class ImportSummaryOut(Out):
    total: int = Field(description="data rows staged so far (all of them once validated)")
    valid: int = Field(description="rows that passed validation")
    invalid: int = Field(description="rows with errors, found at validation or at apply")
    applied: int
    rejected: int = Field(description="the part of invalid refused at apply")


class ImportOut(Out):
    id: uuid.UUID
    type: ImportType
    status: ImportStatus
    file_name: str
    created_by: uuid.UUID | None
    error: str | None = Field(description="why a failed import failed")
    summary: ImportSummaryOut
    created_at: datetime
    updated_at: datetime


class ImportRowOut(Out):
    row_number: int = Field(description="1 is the first record after the header")
    raw: dict[str, str]
    status: ImportRowStatus
    errors: list[str]


class ImportRowsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: ImportRowStatus | None = None


def import_view(record: ImportRecord, summary: ImportSummary) -> dict[str, Any]:
    return {
        "id": str(record.id),
        "type": record.type.value,
        "status": record.status.value,
        "file_name": record.file_name,
        "created_by": str(record.created_by) if record.created_by else None,
        "error": record.error,
        "summary": summary.as_json(),
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def _row_view(row: ImportRowRecord) -> dict[str, Any]:
    return {"row_number": row.row_number, "raw": row.raw, "status": row.status.value, "errors": row.errors}


async def create_import(request: web.Request) -> web.Response:
    upload = await read_upload(request)
    principal = principal_of(request)
    record = await request.app[SERVICES].imports.upload(
        actor_of(request), principal.org_id, upload.type, upload.file_name, upload.content
    )
    body = {"import_id": str(record.id), "status": record.status.value}
    return json_response(body, status=202, headers={"Location": f"/api/v1/imports/{record.id}"})


async def list_imports(request: web.Request) -> web.Response:
    page = page_request(request, IMPORT_SORTS, default_sort="-created_at")
    result = await request.app[SERVICES].imports.list_page(principal_of(request).org_id, page)
    return json_response(page_body(result, page, lambda item: import_view(*item)))


async def get_import(request: web.Request) -> web.Response:
    record, summary = await request.app[SERVICES].imports.get(principal_of(request).org_id, path_id(request))
    return json_response(import_view(record, summary))


async def list_rows(request: web.Request) -> web.Response:
    import_id = path_id(request)
    query = read_query(request, ImportRowsQuery)
    page = page_request(request, IMPORT_ROW_SORTS, default_sort="row_number")
    result = await request.app[SERVICES].imports.rows_page(principal_of(request).org_id, import_id, query.status, page)
    return json_response(page_body(result, page, _row_view))


_IMPORTS, _R, _W = Resource.IMPORTS, Action.READ, Action.WRITE
ROUTES = [
    RouteSpec(
        "POST",
        "/api/v1/imports/csv",
        create_import,
        "imports.create",
        "Upload a CSV file of aircraft, parts or maintenance programs; a worker validates and applies it",
        (_IMPORTS, _W),
        "import",
        idempotent=True,
        request_model=ImportUpload,
        request_media_type="multipart/form-data",
        body_digest=upload_digest,
        response_model=ImportAccepted,
        status=202,
        tag="imports",
    ),
    RouteSpec(
        "GET",
        "/api/v1/imports",
        list_imports,
        "imports.list",
        "List the organization's imports, newest first",
        (_IMPORTS, _R),
        "read",
        response_model=ImportOut,
        response_is_list=True,
        sorts=tuple(IMPORT_SORTS),
        tag="imports",
    ),
    RouteSpec(
        "GET",
        "/api/v1/imports/{id}",
        get_import,
        "imports.get",
        "Read an import and its counts (they move while it runs)",
        (_IMPORTS, _R),
        "read",
        response_model=ImportOut,
        tag="imports",
    ),
    RouteSpec(
        "GET",
        "/api/v1/imports/{id}/rows",
        list_rows,
        "imports.rows",
        "Read an import's rows in file order, with their errors",
        (_IMPORTS, _R),
        "read",
        query_model=ImportRowsQuery,
        response_model=ImportRowOut,
        response_is_list=True,
        sorts=tuple(IMPORT_ROW_SORTS),
        tag="imports",
    ),
]
