"""Import jobs recover: a lost entry is redriven, a job given up leaves one DLQ entry, staging twice changes nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import asyncpg
import redis.asyncio as redis
from prometheus_client import CollectorRegistry

from amss.app.imports.ports import StagedRow
from amss.bootstrap.worker import open_worker
from amss.config import Settings
from amss.infra.postgres.imports_repo import PgImportJobStore
from amss.infra.redis.keys import KeySpace
from tests.api_support import Tenant
from tests.clients import ApiClient
from tests.import_support import csv_bytes, upload, wait_finished
from tests.integration.factories import short_id

HEADER = "tail_number,model,status,capacity_slots,last_maintenance,next_due"


async def test_an_import_whose_entry_redis_lost_is_redriven(
    import_api: ApiClient, import_settings: Settings, crew: Tenant, redis_client: redis.Redis
) -> None:
    status, body, _ = await upload(
        import_api, crew["scheduler"], "aircraft", csv_bytes(HEADER, f"L{short_id()},A320,,1,,")
    )
    assert status == 202
    await redis_client.delete(KeySpace(import_settings.amss_redis_prefix).import_jobs_stream)  # Redis lost it
    async with open_worker(import_settings, CollectorRegistry()):
        done = await wait_finished(import_api, crew["scheduler"], body["import_id"], within=30)
    assert done["status"] == "completed"
    assert done["summary"]["applied"] == 1


async def test_a_job_past_its_attempts_fails_with_one_dead_letter(
    import_api: ApiClient,
    import_settings: Settings,
    crew: Tenant,
    conn: asyncpg.Connection,
    pg_pool: asyncpg.Pool,
    redis_client: redis.Redis,
) -> None:
    status, body, _ = await upload(
        import_api, crew["scheduler"], "aircraft", csv_bytes(HEADER, f"X{short_id()},A320,,1,,")
    )
    assert status == 202
    import_id = uuid.UUID(body["import_id"])
    # workers that died holding it, as many times as the limit allows
    limit = import_settings.amss_import_max_attempts
    await conn.execute("UPDATE imports SET attempts = $2 WHERE id = $1", import_id, limit)
    store = PgImportJobStore(pg_pool)
    keys = KeySpace(import_settings.amss_redis_prefix)
    async with open_worker(import_settings, CollectorRegistry()):
        done = await wait_finished(import_api, crew["scheduler"], body["import_id"], within=30)
        assert done["status"] == "failed"
        assert f"gave up after {limit} attempts" in done["error"]
        # another claim (a redriven entry) finds it finished: nothing more is dead-lettered
        assert await store.claim(crew.org_id, import_id, "late-worker", timedelta(seconds=5), limit) is None
    letters: list[tuple[bytes, dict[bytes, bytes]]] = await redis_client.xrange(keys.dead_letter_stream)  # type: ignore[assignment]
    mine = [fields for _, fields in letters if fields.get(b"id") == str(import_id).encode()]
    assert len(mine) == 1
    assert mine[0][b"source"] == b"import" and mine[0][b"org_id"] == str(crew.org_id).encode()
    assert b"gave up" in mine[0][b"error"]


async def test_staging_a_row_again_changes_nothing(
    import_api: ApiClient, crew: Tenant, conn: asyncpg.Connection, pg_pool: asyncpg.Pool
) -> None:
    status, body, _ = await upload(import_api, crew["scheduler"], "aircraft", csv_bytes(HEADER))
    assert status == 202
    import_id = uuid.UUID(body["import_id"])
    store = PgImportJobStore(pg_pool)
    await store.stage(crew.org_id, import_id, [StagedRow(1, {"tail_number": "A"}, [])])
    await store.stage(crew.org_id, import_id, [StagedRow(1, {"tail_number": "B"}, ["tail_number: x"])])
    rows = await conn.fetch("SELECT raw, status::text AS status FROM import_rows WHERE import_id = $1", import_id)
    assert [(row["raw"], row["status"]) for row in rows] == [({"tail_number": "A"}, "valid")]
    assert await store.staged_through(crew.org_id, import_id) == 1
