"""A 20,000-row import survives its workers: SIGKILLed while validating, again while applying, finished by another.

Real `amss-worker` processes (mesh on) run the import; the upload goes through the REST app in this
process on the same database and key space. Afterwards every valid row is applied exactly once —
one audit row per row, one aircraft per new tail number, one update (version 2) per existing one, one
command per updating row — and the summary counts are the rows' counts.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from amss.app.imports.applying import command_id_of
from amss.auth.keys import generate_key_pair
from amss.bootstrap.server import init_server_app
from amss.config import load_settings
from amss.infra.redis.keys import KeySpace
from tests.api_support import make_tenant
from tests.backends import Backends
from tests.clients import ApiClient
from tests.import_support import upload
from tests.mesh_support import PARTITIONS, WorkerProcess, mesh_backends, wait_until, worker_fleet

ROWS = 20_000
UPDATES = 2_000  # rows naming an aircraft that exists: an UpdateAircraft command each, through the mesh
INVALID_EVERY = 50  # every 50th row has a capacity that is not a number
IMPORT_ENV = {
    "AMSS_IMPORT_LEASE_TTL": "3s",
    "AMSS_IMPORT_REDRIVE_AFTER": "2s",
    "AMSS_IMPORT_BATCH_ROWS": "100",
    "AMSS_IMPORT_MAX_ATTEMPTS": "5",
    "MAX_UPLOAD_BYTES": str(8 << 20),
}


def _file(run: str) -> bytes:
    lines = ["tail_number,model,status,capacity_slots,last_maintenance,next_due"]
    for number in range(1, ROWS + 1):
        capacity = "x" if number % INVALID_EVERY == 0 else "2"
        lines.append(f"{run}-{number},A320-import,,{capacity},,")
    return ("\r\n".join(lines) + "\r\n").encode()


@pytest.fixture
async def api_for(database_url: str, backends: Backends) -> AsyncIterator[tuple[web.Application, ApiClient, str]]:
    prefix = f"imp-crash-{uuid.uuid4().hex[:8]}"
    pair = generate_key_pair()
    settings = load_settings(
        {},
        app_env="test",
        db_url=database_url,
        redis_url=backends.redis_url,
        amss_redis_prefix=prefix,
        amss_partitions=PARTITIONS,
        jwt_private_key_pem=pair.private_pem,
        jwt_public_key_pem=pair.public_pem,
        bcrypt_rounds=4,
        max_upload_bytes=8 << 20,
        db_pool_min=1,
        db_pool_max=4,
    )
    app = init_server_app(settings)
    client = TestClient(TestServer(app))
    await client.start_server()
    yield app, client, prefix
    await client.close()


async def _holder(conn: asyncpg.Connection, import_id: uuid.UUID) -> str | None:
    holder: str | None = await conn.fetchval("SELECT locked_by FROM imports WHERE id = $1", import_id)
    return holder


async def _state(conn: asyncpg.Connection, import_id: uuid.UUID) -> tuple[str, int, int]:
    row = await conn.fetchrow(
        "SELECT i.status::text AS status,"
        " (SELECT count(*) FROM import_rows r WHERE r.org_id = i.org_id AND r.import_id = i.id) AS staged,"
        " (SELECT count(*) FROM import_rows r WHERE r.org_id = i.org_id AND r.import_id = i.id"
        "   AND r.status = 'applied') AS applied"
        " FROM imports i WHERE i.id = $1",
        import_id,
    )
    assert row is not None
    return row["status"], row["staged"], row["applied"]


async def _kill_holder_when(
    conn: asyncpg.Connection,
    import_id: uuid.UUID,
    workers: list[WorkerProcess],
    phase: str,
    low: int,
    high: int,
) -> tuple[str, int]:
    """SIGKILL the worker holding the import once it is in `phase` with a count (staged or applied) in [low, high]."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 120
    while loop.time() < deadline:
        status, staged, applied = await _state(conn, import_id)
        count = staged if phase == "validating" else applied
        holder = await _holder(conn, import_id)
        if status == phase and low <= count <= high and holder is not None:
            victim = next(worker for worker in workers if worker.worker_id == holder)
            victim.send(signal.SIGKILL)
            await victim.wait_exit(within=10)
            after_status, after_staged, after_applied = await _state(conn, import_id)
            return after_status, after_staged if phase == "validating" else after_applied
        if status in ("completed", "failed"):
            raise AssertionError(f"the import finished ({status}) before a worker could be killed in {phase}")
        await asyncio.sleep(0.01)
    raise AssertionError(f"the import never reached {phase} with {low}..{high} rows")


@pytest.mark.timeout(420)
async def test_import_killed_while_validating_and_while_applying_finishes_every_row_exactly_once(
    database_url: str,
    backends: Backends,
    conn: asyncpg.Connection,
    tmp_path: Path,
    api_for: tuple[web.Application, ApiClient, str],
    test_password_hash: str,
) -> None:
    app, api, prefix = api_for
    tenant = await make_tenant(conn, app, test_password_hash)
    await conn.execute("UPDATE org_policies SET api_rate_limit_per_min = 1000000 WHERE org_id = $1", tenant.org_id)
    run = f"K{uuid.uuid4().hex[:6]}"
    # the first UPDATES rows name aircraft that exist (model A319, capacity 1): they update them
    await conn.execute(
        "INSERT INTO aircraft (org_id, tail_number, model) SELECT $1, $2 || '-' || n, 'A319'"
        " FROM generate_series(1, $3::integer) AS n",
        tenant.org_id,
        run,
        UPDATES,
    )
    async with (
        mesh_backends(database_url, backends.redis_url, prefix),
        worker_fleet(tmp_path, database_url, backends.redis_url, prefix) as fleet,
    ):
        first = await fleet.start("imp-a", **IMPORT_ENV)
        status, body, _ = await upload(api, tenant["scheduler"], "aircraft", _file(run))
        assert status == 202, body
        import_id = uuid.UUID(body["import_id"])

        phase, staged = await _kill_holder_when(conn, import_id, [first], "validating", 1, ROWS - 1000)
        assert (phase, staged < ROWS) == ("validating", True), (phase, staged)

        second = await fleet.start("imp-b", **IMPORT_ENV)
        phase, applied = await _kill_holder_when(conn, import_id, [second], "applying", 3000, ROWS - 5000)
        assert phase == "applying" and applied < ROWS - INVALID_EVERY, (phase, applied)

        await fleet.start("imp-c", **IMPORT_ENV)

        async def finished() -> bool:
            return (await _state(conn, import_id))[0] in ("completed", "failed")

        await wait_until(finished, "the third worker to finish the import", within=240, step=0.5)

    record = await conn.fetchrow(
        "SELECT status::text AS status, summary, attempts FROM imports WHERE id = $1", import_id
    )
    assert record is not None
    invalid = ROWS // INVALID_EVERY
    assert record["status"] == "completed", record
    assert record["attempts"] == 3
    assert record["summary"] == {
        "total": ROWS,
        "valid": ROWS - invalid,
        "invalid": invalid,
        "applied": ROWS - invalid,
        "rejected": 0,
    }
    counts = await conn.fetch(
        "SELECT status::text AS status, count(*) AS n FROM import_rows WHERE import_id = $1 GROUP BY status",
        import_id,
    )
    assert {row["status"]: row["n"] for row in counts} == {"applied": ROWS - invalid, "invalid": invalid}

    # every applied row has exactly one audit row naming it, and no other row has one
    audits = await conn.fetch(
        "SELECT (details->'import'->>'row_number')::integer AS row_number, action::text AS action, count(*) AS n"
        " FROM audit_logs WHERE org_id = $1 AND details->'import'->>'import_id' = $2"
        " GROUP BY 1, 2",
        tenant.org_id,
        str(import_id),
    )
    applied_rows = {
        row["row_number"]
        for row in await conn.fetch(
            "SELECT row_number FROM import_rows WHERE import_id = $1 AND status = 'applied'", import_id
        )
    }
    assert all(row["n"] == 1 for row in audits), [row for row in audits if row["n"] != 1][:5]
    assert {row["row_number"] for row in audits} == applied_rows
    assert {row["action"] for row in audits if row["row_number"] <= UPDATES} == {"update"}
    assert {row["action"] for row in audits if row["row_number"] > UPDATES} == {"create"}

    # the tables: one aircraft per tail number, each existing one changed once, each new one created once
    fleet_rows = await conn.fetch(
        "SELECT tail_number, model, capacity_slots, version FROM aircraft WHERE org_id = $1", tenant.org_id
    )
    assert (
        len(fleet_rows)
        == len({row["tail_number"] for row in fleet_rows})
        == UPDATES + len([n for n in applied_rows if n > UPDATES])
    )
    by_tail = {row["tail_number"]: row for row in fleet_rows}
    for number in range(1, ROWS + 1):
        row = by_tail.get(f"{run}-{number}")
        if number % INVALID_EVERY == 0:
            assert row is None or number <= UPDATES, number  # an invalid row changed nothing
            if row is not None:
                assert (row["model"], row["version"]) == ("A319", 1), number
            continue
        assert row is not None, number
        assert (row["model"], row["capacity_slots"]) == ("A320-import", 2), number
        assert row["version"] == (2 if number <= UPDATES else 1), (number, row["version"])

    # one command per updating row, keyed by its row, each succeeded once
    command_ids = [command_id_of(import_id, n) for n in sorted(applied_rows) if n <= UPDATES]
    commands = await conn.fetch("SELECT id, status::text AS status FROM commands WHERE id = ANY($1)", command_ids)
    assert len(commands) == len(command_ids)
    assert {row["status"] for row in commands} == {"succeeded"}
    _ = KeySpace(prefix)
