"""Each import type end to end: good rows, bad rows of every kind, rows that update existing objects."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from amss.bootstrap.worker import Worker
from tests.api_support import Tenant
from tests.clients import ApiClient
from tests.import_support import all_rows, csv_bytes, get_json, upload, wait_finished
from tests.integration.factories import make_aircraft, make_part_definition, make_part_item, make_program, short_id


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
    assert updated is not None
    assert (updated["model"], updated["capacity_slots"], updated["version"]) == ("A321", 3, 2)
    created = await conn.fetchrow(
        "SELECT id, capacity_slots FROM aircraft WHERE org_id = $1 AND tail_number = $2", crew.org_id, f"{tail}1"
    )
    assert created is not None
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


async def test_parts_import_finds_or_creates_definitions_and_upserts_items_by_serial(
    import_api: ApiClient, import_worker: Worker, crew: Tenant, conn: asyncpg.Connection
) -> None:
    scheduler = crew["scheduler"]
    run = short_id()
    known = await make_part_definition(conn, crew.org_id, name=f"pump-{run}")
    other = await make_part_definition(conn, crew.org_id, name=f"valve-{run}")
    later = "2031-01-01T00:00:00Z"
    await make_part_item(
        conn, crew.org_id, known, serial_number=f"K-{run}", expiry_date=datetime(2030, 1, 1, tzinfo=UTC)
    )
    await make_part_item(conn, crew.org_id, known, serial_number=f"U-{run}", status="used")
    await make_part_item(conn, crew.org_id, other, serial_number=f"O-{run}")
    content = csv_bytes(
        "part_name,category,serial_number,status,expiry_date",
        f"pump-{run},hydraulics,A-{run},,2030-06-01T00:00:00Z",  # 1 new item of a known definition
        f"filter-{run},filters,B-{run},in_stock,",  # 2 new definition, new item
        f"filter-{run},filters,C-{run},used,",  # 3 the same new definition again
        f"pump-{run},,K-{run},,{later}",  # 4 an existing item: a later expiry (a command of its actor)
        f"pump-{run},,U-{run},disposed,",  # 5 a used item cannot be disposed of: refused at apply
        f"pump-{run},,O-{run},,",  # 6 an item of another part: refused at apply
        f"pump-{run},,D-{run},lost,",  # 7 unknown status
        f"pump-{run},,E-{run},,2020-01-01T00:00:00Z",  # 8 a past expiry
        f"pump-{run},,F-{run},,2030-01-01T00:00:00",  # 9 a naive timestamp
        f"pump-{run},,A-{run},,",  # 10 a duplicate serial number
        f",,G-{run},,",  # 11 no part name
    )
    status, body, _ = await upload(import_api, scheduler, "parts", content)
    assert status == 202, body
    done = await wait_finished(import_api, scheduler, body["import_id"])
    assert done["status"] == "completed", done
    assert done["summary"] == {"total": 11, "valid": 6, "invalid": 7, "applied": 4, "rejected": 2}
    invalid = {
        row["row_number"]: row["errors"] for row in await all_rows(import_api, scheduler, body["import_id"], "invalid")
    }
    assert sorted(invalid) == [5, 6, 7, 8, 9, 10, 11]
    assert invalid[6] == ["part_name: the part item with this serial number is of another part"]
    assert invalid[7][0].startswith("status: ")
    assert invalid[8] == ["expiry_date: must be in the future"]
    assert invalid[9] == ["expiry_date: timestamp needs a time zone offset (RFC 3339)"]
    assert invalid[10] == ["serial_number: the same serial_number as row 1"]
    assert invalid[11] == ["part_name: required"]
    assert invalid[5][0].startswith("status: ") or invalid[5][0].startswith("serial_number: "), invalid[5]

    items = {
        row["serial_number"]: row
        for row in await conn.fetch(
            "SELECT i.serial_number, i.status::text AS status, i.expiry_date, d.name FROM part_items AS i"
            " JOIN part_definitions AS d ON d.id = i.part_definition_id WHERE i.org_id = $1",
            crew.org_id,
        )
    }
    assert items[f"A-{run}"]["name"] == f"pump-{run}"
    assert items[f"B-{run}"]["name"] == items[f"C-{run}"]["name"] == f"filter-{run}"
    assert items[f"C-{run}"]["status"] == "used"
    assert items[f"K-{run}"]["expiry_date"].isoformat() == "2031-01-01T00:00:00+00:00"
    assert items[f"U-{run}"]["status"] == "used"
    definitions = await conn.fetchval(
        "SELECT count(*) FROM part_definitions WHERE org_id = $1 AND name = $2", crew.org_id, f"filter-{run}"
    )
    assert definitions == 1
    audited = await conn.fetch(
        "SELECT entity_type, action::text, details->'import'->>'row_number' AS row_number FROM audit_logs"
        " WHERE org_id = $1 AND details->'import'->>'import_id' = $2",
        crew.org_id,
        body["import_id"],
    )
    assert sorted((r["entity_type"], r["action"], r["row_number"]) for r in audited) == [
        ("part_definition", "create", "2"),
        ("part_item", "create", "1"),
        ("part_item", "create", "2"),
        ("part_item", "create", "3"),
        ("part_item", "update", "4"),
    ]


async def test_programs_import_resolves_tail_numbers_and_upserts_by_name_and_aircraft(
    import_api: ApiClient, import_worker: Worker, crew: Tenant, conn: asyncpg.Connection
) -> None:
    scheduler = crew["scheduler"]
    run = short_id()
    tail = f"P{run}"
    aircraft_id = await make_aircraft(conn, crew.org_id, tail_number=tail)
    existing = await make_program(conn, crew.org_id, aircraft_id=aircraft_id, name=f"A-check {run}", interval_value=90)
    await make_program(conn, crew.org_id, aircraft_id=aircraft_id, name=f"hours {run}", interval_type="flight_hours")
    content = csv_bytes(
        "name,tail_number,interval_type,interval_value,last_performed",
        f"A-check {run},{tail},calendar,120,2026-01-01T00:00:00Z",  # 1 updates the existing program
        f"C-check {run},,calendar,720,",  # 2 a template
        f"B-check {run},{tail},calendar,30,",  # 3 a new program of the aircraft
        f"D-check {run},NOPE-{run},calendar,30,",  # 4 a tail number that does not exist
        f"E-check {run},{tail},weekly,30,",  # 5 unknown interval type
        f"F-check {run},{tail},calendar,0,",  # 6 not a positive interval
        f"G-check {run},{tail},calendar,30,2199-01-01T00:00:00Z",  # 7 performed in the future
        f"hours {run},{tail},calendar,30,",  # 8 an existing program of another interval type: refused at apply
        f"C-check {run},,cycles,5,",  # 9 the same name + tail number as row 2
    )
    status, body, _ = await upload(import_api, scheduler, "programs", content)
    assert status == 202, body
    done = await wait_finished(import_api, scheduler, body["import_id"])
    assert done["summary"] == {"total": 9, "valid": 4, "invalid": 6, "applied": 3, "rejected": 1}, done
    invalid = {
        row["row_number"]: row["errors"] for row in await all_rows(import_api, scheduler, body["import_id"], "invalid")
    }
    assert invalid[4] == ["tail_number: no aircraft with this tail number in the organization"]
    assert invalid[5][0].startswith("interval_type: ")
    assert invalid[6][0].startswith("interval_value: ")
    assert invalid[7] == ["last_performed: must not be in the future"]
    assert invalid[8] == ["interval_type: the existing program's interval type (flight_hours) cannot change"]
    assert invalid[9] == ["name: the same name + tail_number as row 2"]
    program = await conn.fetchrow(
        "SELECT interval_value, last_performed FROM maintenance_programs WHERE id = $1", existing
    )
    assert program is not None
    assert program["interval_value"] == 120
    template = await conn.fetchval(
        "SELECT count(*) FROM maintenance_programs WHERE org_id = $1 AND name = $2 AND aircraft_id IS NULL",
        crew.org_id,
        f"C-check {run}",
    )
    assert template == 1
    applied = [row["row_number"] for row in await all_rows(import_api, scheduler, body["import_id"], "applied")]
    assert applied == [1, 2, 3]
