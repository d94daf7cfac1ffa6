"""Demo data for local runs: one organization, a user per role, aircraft, parts, a program, tasks.

All or nothing, in one transaction; when the demo organization already exists nothing changes.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from amss.auth.passwords import hash_password_async
from amss.domain.audit import AuditEntry, job_actor
from amss.domain.enums import AuditAction, Role
from amss.domain.timestamps import utc_text
from amss.infra.postgres.audit_repo import insert_audit_entry
from amss.infra.postgres.provisioning import create_user, ensure_organization

DEMO_ORG_NAME = "AMSS Demo Airline"
DEMO_PASSWORD = "amss-demo-password"  # noqa: S105 - the documented demo password
DEMO_USERS: dict[Role, str] = {
    Role.ADMIN: "admin@demo.amss.dev",
    Role.TENANT_ADMIN: "tenant-admin@demo.amss.dev",
    Role.SCHEDULER: "scheduler@demo.amss.dev",
    Role.MECHANIC: "mechanic@demo.amss.dev",
    Role.AUDITOR: "auditor@demo.amss.dev",
}
_JOB = "seed"


async def _insert(
    conn: asyncpg.Connection, table: str, entity_type: str, org_id: uuid.UUID, values: dict[str, Any]
) -> uuid.UUID:
    # table and column names come from this module, never from input; values are parameters
    columns = ["org_id", *values]
    placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    entity_id: uuid.UUID = await conn.fetchval(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders}) RETURNING id",
        org_id,
        *values.values(),
    )
    shown = {key: (utc_text(value) if isinstance(value, datetime) else str(value)) for key, value in values.items()}
    await insert_audit_entry(
        conn,
        AuditEntry(org_id, entity_type, entity_id, AuditAction.CREATE, 1, details={**job_actor(_JOB), "fields": shown}),
    )
    return entity_id


async def seed_demo(conn: asyncpg.Connection, *, bcrypt_rounds: int, now: datetime) -> dict[str, Any]:
    """Create the demo data unless it exists (passwords hashed at BCRYPT_ROUNDS); returns what was done."""
    password_hash = await hash_password_async(DEMO_PASSWORD, bcrypt_rounds)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('amss.seed'))")
        org_id, created = await ensure_organization(conn, DEMO_ORG_NAME, _JOB)
        if not created:
            return {"org_id": str(org_id), "seeded": False}
        user_ids = {
            role: await create_user(conn, org_id, email, role, password_hash, _JOB)
            for role, email in DEMO_USERS.items()
        }
        mechanic_id = user_ids[Role.MECHANIC]
        day = now.replace(hour=0, minute=0, second=0, microsecond=0)

        a320 = await _insert(
            conn,
            "aircraft",
            "aircraft",
            org_id,
            {
                "tail_number": "N101AM",
                "model": "A320neo",
                "status": "operational",
                "capacity_slots": 1,
                "last_maintenance": day - timedelta(days=25),
                "next_due": day + timedelta(days=5),
                "flight_hours_total": 1240,
                "cycles_total": 610,
            },
        )
        b737 = await _insert(
            conn,
            "aircraft",
            "aircraft",
            org_id,
            {
                "tail_number": "N102AM",
                "model": "B737-800",
                "status": "operational",
                "capacity_slots": 2,
                "flight_hours_total": 8930,
                "cycles_total": 4120,
            },
        )
        atr = await _insert(
            conn,
            "aircraft",
            "aircraft",
            org_id,
            {
                "tail_number": "N103AM",
                "model": "ATR 72-600",
                "status": "grounded",
                "grounded_by": "manual",
                "capacity_slots": 1,
            },
        )

        brakes = await _insert(
            conn,
            "part_definitions",
            "part_definition",
            org_id,
            {"name": "Main wheel brake assembly", "category": "landing_gear"},
        )
        oil_filter = await _insert(
            conn, "part_definitions", "part_definition", org_id, {"name": "Engine oil filter", "category": "powerplant"}
        )
        pump = await _insert(
            conn, "part_definitions", "part_definition", org_id, {"name": "Hydraulic pump", "category": "hydraulics"}
        )
        for serial in ("BRK-0001", "BRK-0002", "BRK-0003"):
            await _insert(
                conn, "part_items", "part_item", org_id, {"part_definition_id": brakes, "serial_number": serial}
            )
        for serial in ("OF-0001", "OF-0002", "OF-0003", "OF-0004"):
            await _insert(
                conn,
                "part_items",
                "part_item",
                org_id,
                {
                    "part_definition_id": oil_filter,
                    "serial_number": serial,
                    "expiry_date": day + timedelta(days=730),
                },
            )
        await _insert(conn, "part_items", "part_item", org_id, {"part_definition_id": pump, "serial_number": "HP-0001"})

        a_check = await _insert(
            conn,
            "maintenance_programs",
            "maintenance_program",
            org_id,
            {
                "aircraft_id": a320,
                "name": "A-check",
                "interval_type": "calendar",
                "interval_value": 30,
                "last_performed": day - timedelta(days=25),
            },
        )
        await _insert(
            conn,
            "maintenance_programs",
            "maintenance_program",
            org_id,
            {
                "name": "C-check",
                "interval_type": "calendar",
                "interval_value": 730,
            },
        )
        await _insert(
            conn,
            "maintenance_programs",
            "maintenance_program",
            org_id,
            {
                "aircraft_id": b737,
                "name": "Engine borescope",
                "interval_type": "flight_hours",
                "interval_value": 500,
                "last_performed_usage": 8600,
            },
        )

        inspection = await _insert(
            conn,
            "maintenance_tasks",
            "maintenance_task",
            org_id,
            {
                "aircraft_id": a320,
                "program_id": a_check,
                "type": "inspection",
                "start_time": day + timedelta(days=1, hours=8),
                "end_time": day + timedelta(days=1, hours=12),
                "assigned_mechanic_id": mechanic_id,
                "notes": "A-check, hangar 2",
            },
        )
        await _insert(
            conn,
            "maintenance_tasks",
            "maintenance_task",
            org_id,
            {
                "aircraft_id": b737,
                "type": "repair",
                "start_time": day + timedelta(days=2, hours=9),
                "end_time": day + timedelta(days=2, hours=17),
                "notes": "Replace left main wheel brake",
            },
        )
        await _insert(
            conn,
            "maintenance_tasks",
            "maintenance_task",
            org_id,
            {
                "aircraft_id": atr,
                "type": "overhaul",
                "assigned_mechanic_id": mechanic_id,
                "start_time": day + timedelta(days=3),
                "end_time": day + timedelta(days=10),
            },
        )
        await _insert(
            conn,
            "compliance_items",
            "compliance_item",
            org_id,
            {
                "task_id": inspection,
                "description": "Inspect brake wear indicators",
            },
        )
        await _insert(
            conn,
            "compliance_items",
            "compliance_item",
            org_id,
            {
                "task_id": inspection,
                "description": "Check engine oil level and filter bypass indicator",
            },
        )
    return {"org_id": str(org_id), "seeded": True, "users": {role.value: email for role, email in DEMO_USERS.items()}}
