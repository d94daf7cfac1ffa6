"""Each import type end to end: good rows, bad rows of every kind, rows that update existing objects."""

from __future__ import annotations

import asyncpg

from amss.bootstrap.worker import Worker
from tests.api_support import Tenant
from tests.clients import ApiClient
from tests.import_support import all_rows, csv_bytes, get_json, upload, wait_finished
from tests.integration.factories import make_aircraft, short_id


async def test_aircraft_import_creates_updates_and_reports_bad_rows(
    import_api: ApiClient, import_worker: Worker, crew: Tenant, conn: asyncpg.Connection
) -> None:
    scheduler = crew["scheduler"]
    tail = f"N{short_id()}"
    existing = await make_aircraft(conn, crew.org_id, tail_number=f"E{tail}", model="A319", capacity_slots=1)
    content = csv_bytes(
        "tail_number,model,status,capacity_slots,last_maintenance,next_due",
        f"{tail}1,A320,operational,2,2026-01-01T00:00:00Z,2027-01-01T00:00:00+02:00",
        f"E{tail},A321,,3,,",
        f"{tail}2,A320,flying,1,,",
        f"{tail}3,A320,,two,,",
        f"{tail}4,A320,,1,2026-01-01T00:00:00,",
        f"{tail}5,A320,,1,yesterday,",
        f"{tail}1,A330,,1,,",
        ",A320,,1,,",
    )
    status, body, headers = await upload(import_api, scheduler, "aircraft", content)
    assert status == 202, body
    assert body["status"] == "pending"
    assert headers["Location"] == f"/api/v1/imports/{body['import_id']}"
    done = await wait_finished(import_api, scheduler, body["import_id"])
    assert done["status"] == "completed", done
    assert done["summary"] == {"total": 8, "valid": 2, "invalid": 6, "applied": 2, "rejected": 0}

    invalid = {
        row["row_number"]: row["errors"] for row in await all_rows(import_api, scheduler, body["import_id"], "invalid")
    }
    assert sorted(invalid) == [3, 4, 5, 6, 7, 8]
    assert invalid[3][0].startswith("status: ")
    assert invalid[4] == ["capacity_slots: must be a whole number"]
    assert invalid[5] == ["last_maintenance: timestamp needs a time zone offset (RFC 3339)"]
    assert invalid[6][0].startswith("last_maintenance: ")
    assert invalid[7] == ["tail_number: the same tail_number as row 1"]
    assert invalid[8][0].startswith("tail_number: ")

    updated = await conn.fetchrow("SELECT model, capacity_slots, version FROM aircraft WHERE id = $1", existing)
    assert (updated["model"], updated["capacity_slots"], updated["version"]) == ("A321", 3, 2)
    created = await conn.fetchrow(
        "SELECT id, capacity_slots FROM aircraft WHERE org_id = $1 AND tail_number = $2", crew.org_id, f"{tail}1"
    )
    assert created["capacity_slots"] == 2
    code, shown = await get_json(import_api, scheduler, f"/api/v1/aircraft/{created['id']}")
    assert code == 200 and shown["next_due"] == "2026-12-31T22:00:00Z"
    audits = await conn.fetch(
        "SELECT entity_id, action::text, details FROM audit_logs WHERE org_id = $1 AND entity_type = 'aircraft'"
        " AND details ? 'import' ORDER BY \"timestamp\"",
        crew.org_id,
    )
    assert {(row["entity_id"], row["action"]) for row in audits} == {(created["id"], "create"), (existing, "update")}
    rows_of = {row["details"]["import"]["row_number"] for row in audits}
    assert rows_of == {1, 2}
    assert all(row["details"]["import"]["import_id"] == body["import_id"] for row in audits)
