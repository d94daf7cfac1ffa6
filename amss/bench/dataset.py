"""An airline-sized data set in set-based SQL, for benchmarks and reports: `generate(conn, Size)`.

One organization per call: users of every role, aircraft with three programs each, maintenance
tasks spread over the years (95% completed, one in 40 of the past ones cancelled, the rest ahead
in 4 h slots, so no two active windows of an aircraft overlap), signed and pending compliance
items, part definitions, items and reservations, and the audit trail of all of it. Everything is
consistent by construction, so the foreign-key triggers are off while it loads
(`session_replication_role = replica`, superuser) and the secondary indexes of the two big tables
are dropped and rebuilt around their load; the sign-off guard is disabled for the load of signed
items and re-enabled in the same transaction.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Final

import asyncpg

# the tables loaded with their secondary (non-constraint) indexes dropped and rebuilt afterwards
BULK_TABLES: Final = ("maintenance_tasks", "audit_logs")
SLOT_HOURS: Final = 4
ROLES: Final = ("admin", "tenant_admin", "scheduler", "mechanic", "auditor")


@dataclasses.dataclass(frozen=True)
class Size:
    """How much one organization holds."""

    name: str
    aircraft: int
    tasks: int
    compliance: int
    part_definitions: int
    part_items: int
    reservations: int
    users: int
    # audit rows per task (create, updates, state changes); the other entities add theirs
    audit_per_task: int = 8

    @classmethod
    def airline(cls, scale: float, name: str = "bench airline") -> Size:
        """100 aircraft, 1 M tasks, 300 k compliance items, 50 k part items, 100 k reservations at scale 1
        (about 10 M audit rows)."""

        def n(value: int) -> int:
            return max(1, round(value * scale))

        return cls(name, n(100), n(1_000_000), n(300_000), n(2_000), n(50_000), n(100_000), max(10, n(300)))

    @classmethod
    def small(cls, name: str = "bench small operator") -> Size:
        """5 aircraft and 1,000 tasks, whatever the scale of the big one."""
        return cls(name, 5, 1_000, 300, 20, 200, 100, 10)


@dataclasses.dataclass(frozen=True)
class Generated:
    org_id: uuid.UUID
    size: Size
    audit_rows: int
    seconds: float


def _steps(org: uuid.UUID, size: Size, now: datetime) -> list[tuple[str, tuple[object, ...]]]:
    per = max(1, size.tasks // size.aircraft)
    done = round(per * 0.95)
    slot = timedelta(hours=SLOT_HOURS)
    return [
        (
            "INSERT INTO org_policies (org_id, api_rate_limit_per_min) VALUES ($1, 1000000)",
            (org,),
        ),
        (
            "INSERT INTO users (org_id, email, role, password_hash, created_at, updated_at)"
            " SELECT $1::uuid, 'user' || n || '@' || replace($1::uuid::text, '-', '') || '.bench',"
            " ($3::user_role[])[1 + n % 5],"
            " 'x', $4::timestamptz - n * interval '1 day', $4::timestamptz - n * interval '1 day'"
            " FROM generate_series(0, $2 - 1) AS n",
            (org, size.users, list(ROLES), now),
        ),
        (
            "INSERT INTO aircraft (org_id, tail_number, model, created_at, updated_at)"
            " SELECT $1, 'N' || n, (ARRAY['A320', 'B737', 'E190'])[1 + n % 3],"
            " $3::timestamptz - n * interval '1 day', $3::timestamptz - n * interval '1 hour'"
            " FROM generate_series(1, $2) AS n",
            (org, size.aircraft, now),
        ),
        (
            "INSERT INTO maintenance_programs (org_id, aircraft_id, name, interval_type, interval_value, created_at)"
            " SELECT a.org_id, a.id, p.name, p.kind::interval_type, p.value, a.created_at"
            " FROM aircraft a, (VALUES ('A-check', 'calendar', 60), ('C-check', 'calendar', 720),"
            " ('FH-500', 'flight_hours', 500)) AS p(name, kind, value) WHERE a.org_id = $1",
            (org,),
        ),
        (
            "WITH a AS (SELECT id, row_number() OVER (ORDER BY tail_number) AS n FROM aircraft WHERE org_id = $1),"
            " m AS (SELECT array_agg(id ORDER BY id) AS ids FROM users WHERE org_id = $1 AND role = 'mechanic'),"
            " t AS (SELECT a.id AS aircraft_id, a.n, k, $4::timestamptz + (k - $3) * $5::interval AS start_time"
            " FROM a, generate_series(0, $2 - 1) AS k)"
            " INSERT INTO maintenance_tasks (org_id, aircraft_id, type, state, start_time, end_time,"
            " assigned_mechanic_id, created_at, updated_at)"
            " SELECT $1, t.aircraft_id, (ARRAY['inspection', 'repair', 'overhaul']::task_type[])[1 + k % 3],"
            " (CASE WHEN k < $3 AND k % 40 = 7 THEN 'cancelled' WHEN k < $3 THEN 'completed'"
            " WHEN k = $3 THEN 'in_progress' ELSE 'scheduled' END)::task_state,"
            " t.start_time, t.start_time + interval '2 hours', m.ids[1 + (k + t.n) % cardinality(m.ids)],"
            " least(t.start_time - interval '14 days', $4::timestamptz - ($2 - k) * interval '1 minute'),"
            " CASE WHEN k < $3 THEN t.start_time + interval '3 hours'"
            " ELSE least(t.start_time - interval '14 days', $4::timestamptz - ($2 - k) * interval '1 minute') END"
            " FROM t, m",
            (org, per, done, now, slot),
        ),
        (
            "WITH done AS (SELECT id, end_time, created_at, assigned_mechanic_id, row_number() OVER () AS n"
            " FROM maintenance_tasks WHERE org_id = $1 AND state = 'completed' LIMIT $2)"
            " INSERT INTO compliance_items (org_id, task_id, description, result, sign_off_user_id, sign_off_time,"
            " created_at, updated_at)"
            " SELECT $1, id, 'check ' || n, (CASE WHEN n % 33 = 0 THEN 'fail' ELSE 'pass' END)::compliance_result,"
            " assigned_mechanic_id, end_time, created_at, end_time FROM done",
            (org, size.compliance),
        ),
        (
            "INSERT INTO compliance_items (org_id, task_id, description, created_at, updated_at)"
            " SELECT $1, id, 'pending check', created_at, created_at FROM maintenance_tasks"
            " WHERE org_id = $1 AND state IN ('scheduled', 'in_progress') LIMIT $2",
            (org, max(1, size.compliance // 20)),
        ),
        (
            "INSERT INTO part_definitions (org_id, name, category, created_at, updated_at)"
            " SELECT $1, 'part ' || n, (ARRAY['engine', 'avionics', 'landing gear', 'cabin', 'airframe'])[1 + n % 5],"
            " $3::timestamptz - n * interval '1 hour', $3::timestamptz - n * interval '1 hour'"
            " FROM generate_series(1, $2) AS n",
            (org, size.part_definitions, now),
        ),
        (
            "WITH d AS (SELECT id, row_number() OVER (ORDER BY name) - 1 AS n FROM part_definitions WHERE org_id = $1)"
            " INSERT INTO part_items (org_id, part_definition_id, serial_number, status, expiry_date,"
            " created_at, updated_at)"
            " SELECT $1, d.id, 'SN-' || g.n,"
            " (CASE WHEN g.n % 20 = 0 THEN 'disposed' WHEN g.n % 4 = 1 THEN 'in_stock' ELSE 'used' END)"
            "::part_item_status,"
            " CASE WHEN g.n % 5 < 2 THEN $3::timestamptz + (1 + g.n % 1000) * interval '1 day' END,"
            " $3::timestamptz - ($2 - g.n) * interval '10 minutes', $3::timestamptz - ($2 - g.n) * interval '5 minutes'"
            " FROM generate_series(1, $2) AS g(n) JOIN d ON d.n = g.n % $4",
            (org, size.part_items, now, size.part_definitions),
        ),
        (
            # numbered rows joined by key, not arrays subscripted per row: a row carrying a big array
            # through a hash or sort is copied with it (at scale 1 that filled the disk with temp files)
            "WITH i AS (SELECT id, status, row_number() OVER (ORDER BY serial_number) - 1 AS n"
            " FROM part_items WHERE org_id = $1),"
            " done AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM maintenance_tasks"
            " WHERE org_id = $1 AND state = 'completed' ORDER BY id LIMIT $5),"
            " ahead AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM maintenance_tasks"
            " WHERE org_id = $1 AND state = 'scheduled'),"
            " counts AS (SELECT (SELECT count(*) FROM done) AS done,"
            " (SELECT greatest(count(*), 1) FROM ahead) AS ahead),"
            " r AS (SELECT g.n, g.n % $4 AS item, g.n < $4 AS first FROM generate_series(0, $2 - 1) AS g(n)),"
            " planned AS (SELECT r.n, i.id AS item_id, i.status, r.first,"
            " r.first AND i.status = 'in_stock' AND r.n % 10 = 1 AS reserving FROM r JOIN i ON i.n = r.item)"
            " INSERT INTO part_reservations (org_id, task_id, part_item_id, state, created_at, updated_at)"
            " SELECT $1, CASE WHEN p.reserving THEN a.id ELSE d.id END, p.item_id,"
            " (CASE WHEN p.reserving THEN 'reserved' WHEN p.first AND p.status = 'used' THEN 'used'"
            " ELSE 'released' END)::reservation_state,"
            " $3::timestamptz - ($2 - p.n) * interval '5 minutes', $3::timestamptz - ($2 - p.n) * interval '4 minutes'"
            " FROM planned p CROSS JOIN counts c"
            " JOIN done d ON d.n = p.n % c.done LEFT JOIN ahead a ON a.n = p.n % c.ahead"
            " WHERE NOT p.reserving OR a.id IS NOT NULL",
            (org, size.reservations, now, size.part_items, 100_000),
        ),
        (
            "WITH u AS (SELECT array_agg(id ORDER BY id) AS ids FROM users WHERE org_id = $1"
            " AND role IN ('scheduler', 'mechanic'))"
            " INSERT INTO audit_logs (org_id, entity_type, entity_id, action, user_id, ip_address, user_agent,"
            ' entity_version, "timestamp", details)'
            " SELECT $1, 'maintenance_task', t.id,"
            " (CASE WHEN i = 0 THEN 'create' WHEN i < 4 THEN 'update' ELSE 'state_change' END)::audit_action,"
            " CASE WHEN i % 10 = 9 THEN NULL"
            " ELSE u.ids[1 + (hashtext(t.id::text)::bigint + 2147483648 + i) % cardinality(u.ids)] END,"
            " '10.0.0.1', 'bench', i + 1, t.created_at + i * (t.updated_at - t.created_at) / $2 + i * interval '1 ms',"
            " '{}'::jsonb FROM maintenance_tasks t CROSS JOIN u, generate_series(0, $2 - 1) AS i WHERE t.org_id = $1",
            (org, size.audit_per_task),
        ),
        (
            'INSERT INTO audit_logs (org_id, entity_type, entity_id, action, entity_version, "timestamp", details)'
            " SELECT $1, 'aircraft', aircraft_id, 'state_change', 1, start_time, '{\"status\": \"grounded\"}'::jsonb"
            " FROM maintenance_tasks WHERE org_id = $1 AND state = 'completed'",
            (org,),
        ),
        (
            'INSERT INTO audit_logs (org_id, entity_type, entity_id, action, user_id, entity_version, "timestamp")'
            " SELECT $1, 'compliance_item', c.id, (CASE WHEN i = 0 THEN 'create' ELSE 'update' END)::audit_action,"
            " c.sign_off_user_id, i + 1, CASE WHEN i = 0 THEN c.created_at ELSE c.updated_at END"
            " FROM compliance_items c, generate_series(0, 1) AS i WHERE c.org_id = $1",
            (org,),
        ),
        (
            'INSERT INTO audit_logs (org_id, entity_type, entity_id, action, entity_version, "timestamp")'
            " SELECT $1, 'part_reservation', r.id,"
            " (CASE WHEN i = 0 THEN 'create' ELSE 'state_change' END)::audit_action,"
            " i + 1, r.created_at + i * interval '1 minute'"
            " FROM part_reservations r, generate_series(0, 1) AS i WHERE r.org_id = $1",
            (org,),
        ),
        (
            'INSERT INTO audit_logs (org_id, entity_type, entity_id, action, entity_version, "timestamp")'
            " SELECT $1, 'part_item', id, 'create', 1, created_at FROM part_items WHERE org_id = $1",
            (org,),
        ),
    ]


async def _secondary_indexes(conn: asyncpg.Connection, table: str) -> list[tuple[str, str]]:
    """(name, definition) of the table's indexes that back no constraint."""
    rows = await conn.fetch(
        "SELECT c.relname AS name, pg_get_indexdef(i.indexrelid) AS definition FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = $1::regclass"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)",
        table,
    )
    return [(row["name"], row["definition"]) for row in rows]


async def generate(
    conn: asyncpg.Connection, sizes: list[Size], progress: Callable[[str], None] = lambda _: None
) -> list[Generated]:
    """Load one organization per size into the (migrated) database of `conn`, then ANALYZE."""
    started = time.monotonic()
    now: datetime = await conn.fetchval("SELECT date_trunc('hour', now())")
    await conn.execute("SET maintenance_work_mem = '512MB'")
    dropped: list[tuple[str, str]] = []
    for table in BULK_TABLES:
        dropped += await _secondary_indexes(conn, table)
    generated: list[Generated] = []
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute("ALTER TABLE compliance_items DISABLE TRIGGER compliance_items_immutable_after_sign_off")
        await conn.execute("ALTER TABLE part_reservations DISABLE TRIGGER part_reservations_item_available")
        for name, _ in dropped:
            await conn.execute(f'DROP INDEX "{name}"')
        for size in sizes:
            org_started = time.monotonic()
            org: uuid.UUID = await conn.fetchval("INSERT INTO organizations (name) VALUES ($1) RETURNING id", size.name)
            for sql, args in _steps(org, size, now):
                step_started = time.monotonic()
                status = await conn.execute(sql, *args)
                progress(f"  {status} in {time.monotonic() - step_started:.1f} s")
            audit_rows = await conn.fetchval("SELECT count(*) FROM audit_logs WHERE org_id = $1", org)
            seconds = time.monotonic() - org_started
            progress(f"{size.name}: {size.tasks} tasks, {audit_rows} audit rows in {seconds:.0f} s")
            generated.append(Generated(org, size, audit_rows, seconds))
        for name, definition in dropped:
            progress(f"building {name}")
            await conn.execute(definition)
        await conn.execute(
            "ALTER TABLE compliance_items ENABLE ALWAYS TRIGGER compliance_items_immutable_after_sign_off"
        )
        await conn.execute("ALTER TABLE part_reservations ENABLE ALWAYS TRIGGER part_reservations_item_available")
    progress("vacuum analyze")
    await conn.execute("VACUUM (ANALYZE)")
    progress(f"generated in {time.monotonic() - started:.0f} s")
    return generated
