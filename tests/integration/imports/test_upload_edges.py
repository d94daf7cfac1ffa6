"""POST /imports/csv: what docs/imports.md accepts (BOM, CRLF, quoting, blank trailing lines) and refuses up front."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from amss.bootstrap.server import init_server_app
from amss.bootstrap.worker import Worker
from amss.config import Settings
from tests.api_support import Tenant, call
from tests.clients import ApiClient
from tests.import_support import all_rows, csv_bytes, get_json, multipart_body, stream_body, upload, wait_finished
from tests.integration.factories import short_id

HEADER = "tail_number,model,status,capacity_slots,last_maintenance,next_due"


async def _imports(conn: asyncpg.Connection, tenant: Tenant) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM imports WHERE org_id = $1", tenant.org_id)
    return count


async def test_bom_crlf_quoting_and_blank_trailing_lines_are_accepted(
    import_api: ApiClient, import_worker: Worker, crew: Tenant, conn: asyncpg.Connection
) -> None:
    run = short_id()
    text = (
        "\ufeff" + HEADER + "\r\n"
        f'Q1{run},"Airbus, A320",,1,,\r\n'
        f'Q2{run},"the ""new"" one",,1,,\r\n'
        f'Q3{run},"two\r\nlines",,1,,\r\n'
        "\r\n,,,,,\r\n\r\n"
    )
    status, body, _ = await upload(import_api, crew["scheduler"], "aircraft", text.encode())
    assert status == 202, body
    done = await wait_finished(import_api, crew["scheduler"], body["import_id"])
    assert done["summary"] == {"total": 3, "valid": 3, "invalid": 0, "applied": 3, "rejected": 0}, done
    models = {
        row["tail_number"]: row["model"]
        for row in await conn.fetch("SELECT tail_number, model FROM aircraft WHERE org_id = $1", crew.org_id)
    }
    assert models == {f"Q1{run}": "Airbus, A320", f"Q2{run}": 'the "new" one', f"Q3{run}": "two\r\nlines"}
    rows = await all_rows(import_api, crew["scheduler"], body["import_id"])
    assert rows[0]["raw"]["model"] == "Airbus, A320"
    assert [row["row_number"] for row in rows] == [1, 2, 3]


async def test_header_only_completes_with_no_rows(import_api: ApiClient, import_worker: Worker, crew: Tenant) -> None:
    status, body, _ = await upload(import_api, crew["scheduler"], "aircraft", csv_bytes(HEADER))
    assert status == 202, body
    done = await wait_finished(import_api, crew["scheduler"], body["import_id"])
    assert done["status"] == "completed"
    assert done["summary"] == {"total": 0, "valid": 0, "invalid": 0, "applied": 0, "rejected": 0}


async def test_a_file_broken_after_its_header_fails_with_the_reason(
    import_api: ApiClient, import_worker: Worker, crew: Tenant
) -> None:
    content = csv_bytes(HEADER, f"R1{short_id()},A320,,1,,", 'R2,"never closed,,1,,')
    status, body, _ = await upload(import_api, crew["scheduler"], "aircraft", content)
    assert status == 202, body
    done = await wait_finished(import_api, crew["scheduler"], body["import_id"])
    assert done["status"] == "failed"
    assert "never closed" in done["error"]


@pytest.mark.parametrize(
    ("content", "field", "problem"),
    [
        (b"", "file", "no header row"),
        (b"\r\n\r\n", "file", "no header row"),
        (csv_bytes("tail_number,model,colour"), "colour", "not a column of a aircraft file"),
        (csv_bytes("tail_number,status"), "model", "required column missing"),
        (csv_bytes("tail_number,model,model"), "model", "named more than once"),
        ("tail_number,model\r\nN1,Citro\u00ebn\r\n".encode("latin-1"), "file", "is not UTF-8 text"),
        (b"tail_number,model\r\nN1,A3\x0020\r\n", "file", "holds a NUL byte"),
    ],
    ids=["empty", "blank-lines", "unknown-column", "missing-column", "repeated-column", "latin-1", "nul"],
)
async def test_files_refused_up_front_are_400_and_store_nothing(
    import_api: ApiClient, crew: Tenant, conn: asyncpg.Connection, content: bytes, field: str, problem: str
) -> None:
    status, body, _ = await upload(import_api, crew["scheduler"], "aircraft", content)
    assert status == 400, body
    assert body["code"] == "VALIDATION_ERROR"
    assert problem in body["details"]["fields"][field], body
    assert await _imports(conn, crew) == 0


async def test_missing_required_columns_are_all_listed(import_api: ApiClient, crew: Tenant) -> None:
    status, body, _ = await upload(import_api, crew["scheduler"], "programs", csv_bytes("tail_number"))
    assert status == 400, body
    assert set(body["details"]["fields"]) == {"name", "interval_type", "interval_value"}


@pytest.mark.parametrize(
    ("import_type", "content", "field"),
    [(None, csv_bytes(HEADER), "type"), ("fleet", csv_bytes(HEADER), "type"), ("aircraft", None, "file")],
    ids=["no-type", "unknown-type", "no-file"],
)
async def test_missing_or_unknown_fields_are_400(
    import_api: ApiClient,
    crew: Tenant,
    conn: asyncpg.Connection,
    import_type: str | None,
    content: bytes | None,
    field: str,
) -> None:
    status, body, _ = await upload(import_api, crew["scheduler"], import_type, content)
    assert status == 400, body
    assert field in body["details"]["fields"]
    assert await _imports(conn, crew) == 0


async def test_an_unknown_form_field_is_400(import_api: ApiClient, crew: Tenant) -> None:
    body, content_type = multipart_body("aircraft", csv_bytes(HEADER), extra={"colour": "red"})
    headers = {**crew["scheduler"].auth, **content_type}
    async with import_api.post("/api/v1/imports/csv", data=body, headers=headers) as response:
        assert response.status == 400
        assert "colour" in (await response.json())["details"]["fields"]


async def test_a_json_body_is_415(import_api: ApiClient, crew: Tenant) -> None:
    async with import_api.post(
        "/api/v1/imports/csv", json={"type": "aircraft"}, headers=crew["scheduler"].auth
    ) as response:
        assert response.status == 415
        assert (await response.json())["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_over_the_cap_is_413_and_nothing_is_stored(
    import_api: ApiClient, crew: Tenant, conn: asyncpg.Connection
) -> None:
    cap = 256 * 1024  # the fixture's MAX_UPLOAD_BYTES
    status, body, _ = await upload(import_api, crew["scheduler"], "aircraft", csv_bytes(HEADER) + b"x" * cap)
    assert status == 413, body
    assert body["code"] == "PAYLOAD_TOO_LARGE"
    assert await _imports(conn, crew) == 0


async def test_a_streamed_upload_past_the_cap_is_413_before_the_client_has_sent_it_all(
    import_api: ApiClient, crew: Tenant, conn: asyncpg.Connection
) -> None:
    """Chunked (no Content-Length): the server answers once the cap is passed, not after 64 MiB."""
    head, content_type = multipart_body("aircraft", None)
    head = head.removesuffix(b"--amss-test-boundary-7f3a--\r\n") + (
        b'--amss-test-boundary-7f3a\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n'
    )

    async def body() -> AsyncIterator[bytes]:
        yield head
        async for chunk in stream_body(64 * 1024 * 1024):
            yield chunk

    headers = {**crew["scheduler"].auth, **content_type}
    async with import_api.post("/api/v1/imports/csv", data=body(), headers=headers) as response:
        assert response.status == 413
        assert (await response.json())["code"] == "PAYLOAD_TOO_LARGE"
    assert await _imports(conn, crew) == 0


async def test_an_idempotent_repeat_replays_the_first_answer_and_stores_one_import(
    import_api: ApiClient, crew: Tenant, conn: asyncpg.Connection, import_worker: Worker
) -> None:
    content = csv_bytes(HEADER, f"I{short_id()},A320,,1,,")
    key = {"Idempotency-Key": f"import-{short_id()}"}
    first = await upload(import_api, crew["scheduler"], "aircraft", content, key)
    again = await upload(import_api, crew["scheduler"], "aircraft", content, key)
    assert first[0] == again[0] == 202
    assert first[1] == again[1]
    assert again[2]["Idempotent-Replayed"] == "true"
    assert await _imports(conn, crew) == 1
    other = await upload(import_api, crew["scheduler"], "aircraft", content + b"J1,A320,,1,,\r\n", key)
    assert other[0] == 409 and other[1]["code"] == "IDEMPOTENCY_KEY_REUSED"
    await wait_finished(import_api, crew["scheduler"], first[1]["import_id"])


async def test_the_upload_is_audited_and_rate_limited_in_the_import_category(
    import_api: ApiClient, crew: Tenant, conn: asyncpg.Connection
) -> None:
    await conn.execute("UPDATE org_policies SET rate_limits = '{\"import\": 2}'::jsonb WHERE org_id = $1", crew.org_id)
    content = csv_bytes(HEADER)
    statuses = []
    for _ in range(3):
        status, _, headers = await upload(import_api, crew["scheduler"], "aircraft", content)
        statuses.append(status)
        assert headers["RateLimit-Limit"] == "2"
    assert statuses == [202, 202, 429]
    audited = await conn.fetchval(
        "SELECT count(*) FROM audit_logs WHERE org_id = $1 AND entity_type = 'import' AND action = 'create'",
        crew.org_id,
    )
    assert audited == 2


async def test_rows_pages_follow_row_order_and_filter_by_status(
    import_api: ApiClient, import_worker: Worker, crew: Tenant
) -> None:
    run = short_id()
    lines = [HEADER] + [f"S{i}{run},A320,,{'x' if i % 3 == 0 else 1},," for i in range(1, 31)]
    status, body, _ = await upload(import_api, crew["scheduler"], "aircraft", csv_bytes(*lines))
    assert status == 202
    await wait_finished(import_api, crew["scheduler"], body["import_id"])
    code, page = await get_json(import_api, crew["auditor"], f"/api/v1/imports/{body['import_id']}/rows?limit=7")
    assert code == 200 and [row["row_number"] for row in page["items"]] == list(range(1, 8))
    invalid = await all_rows(import_api, crew["auditor"], body["import_id"], "invalid")
    assert [row["row_number"] for row in invalid] == list(range(3, 31, 3))
    code, error = await get_json(import_api, crew["auditor"], f"/api/v1/imports/{body['import_id']}/rows?status=odd")
    assert code == 400 and "status" in error["details"]["fields"]
    code, listed = await get_json(import_api, crew["auditor"], "/api/v1/imports")
    assert code == 200 and listed["items"][0]["id"] == body["import_id"]


async def test_a_tenant_admin_imports_the_fleet_it_onboards(
    import_api: ApiClient, import_worker: Worker, crew: Tenant, conn: asyncpg.Connection
) -> None:
    """The role table (docs/api.md) gives tenant admins imports W (onboarding), though they only read aircraft."""
    tail = f"T{short_id()}"
    admin = crew["tenant_admin"]
    status, body, _ = await upload(import_api, admin, "aircraft", csv_bytes(HEADER, f"{tail},A320,,1,,"))
    assert status == 202, body
    done = await wait_finished(import_api, admin, body["import_id"])
    assert (done["status"], done["summary"]["applied"]) == ("completed", 1), done
    created = await conn.fetchval(
        "SELECT count(*) FROM aircraft WHERE org_id = $1 AND tail_number = $2", crew.org_id, tail
    )
    assert created == 1
    # the REST route itself still refuses the tenant admin a direct write
    status, error, _ = await call(
        import_api, "POST", "/api/v1/aircraft", admin, json={"tail_number": f"{tail}X", "model": "A320"}
    )
    assert status == 403 and error["code"] == "FORBIDDEN"


async def test_another_tenants_import_is_404(
    import_api: ApiClient, crew: Tenant, conn: asyncpg.Connection, import_app: object, test_password_hash: str
) -> None:
    status, body, _ = await upload(import_api, crew["scheduler"], "aircraft", csv_bytes(HEADER))
    assert status == 202
    from tests.api_support import make_tenant

    stranger = await make_tenant(conn, import_app, test_password_hash)  # type: ignore[arg-type]
    for path in (f"/api/v1/imports/{body['import_id']}", f"/api/v1/imports/{body['import_id']}/rows"):
        code, error = await get_json(import_api, stranger["scheduler"], path)
        assert code == 404, error
    code, listed = await get_json(import_api, stranger["auditor"], "/api/v1/imports")
    assert listed["items"] == []


async def test_an_upload_that_stops_arriving_is_408(
    import_settings: Settings, crew: Tenant, conn: asyncpg.Connection
) -> None:
    app = init_server_app(import_settings.model_copy(update={"body_read_timeout": timedelta(seconds=1)}))
    head, content_type = multipart_body("aircraft", None)
    head = head.removesuffix(b"--amss-test-boundary-7f3a--\r\n") + (
        b'--amss-test-boundary-7f3a\r\nContent-Disposition: form-data; name="file"; filename="slow.csv"\r\n\r\n'
        + csv_bytes(HEADER)
    )

    async def stalling() -> AsyncIterator[bytes]:
        yield head
        await asyncio.sleep(5)  # longer than BODY_READ_TIMEOUT: the server gives up first
        yield b"never read\r\n"

    async with TestClient(TestServer(app)) as client:
        headers = {**crew["scheduler"].auth, **content_type}
        async with client.post("/api/v1/imports/csv", data=stalling(), headers=headers) as response:
            assert response.status == 408
            assert (await response.json())["code"] == "REQUEST_TIMEOUT"
    assert await _imports(conn, crew) == 0
