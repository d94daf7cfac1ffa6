"""A batch of import rows: one transaction, rows marked with their changes; a failed statement reruns it."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from amss.app.clock import utc_now
from amss.app.imports.ports import RowAlreadySettled, StagedRow
from amss.app.parts.ports import NewPartItem
from amss.app.parts.service import PartsService
from amss.domain.errors import Conflict
from amss.domain.principal import Actor
from amss.infra.postgres.import_row_uow import row_batches
from amss.infra.postgres.imports_repo import PgImportJobStore
from amss.infra.redis.locks import RedisPartItemLocks
from tests.api_support import Tenant
from tests.clients import ApiClient
from tests.import_support import csv_bytes, upload
from tests.integration.factories import make_part_definition, make_part_item, short_id


async def _staged_import(api: ApiClient, crew: Tenant, pool: asyncpg.Pool, rows: int) -> uuid.UUID:
    status, body, _ = await upload(api, crew["scheduler"], "parts", csv_bytes("part_name,serial_number"))
    assert status == 202
    import_id = uuid.UUID(body["import_id"])
    store = PgImportJobStore(pool)
    await store.stage(crew.org_id, import_id, [StagedRow(n, {"n": str(n)}) for n in range(1, rows + 1)])
    return import_id


async def test_a_failing_statement_aborts_the_batch_and_savepoints_keep_the_other_rows(
    import_api: ApiClient, crew: Tenant, conn: asyncpg.Connection, pg_pool: asyncpg.Pool, redis_client: object
) -> None:
    import_id = await _staged_import(import_api, crew, pg_pool, 3)
    definition = await make_part_definition(conn, crew.org_id)
    taken = f"TAKEN-{short_id()}"
    await make_part_item(conn, crew.org_id, definition, serial_number=taken)
    serials = {1: f"A-{short_id()}", 2: taken, 3: f"C-{short_id()}"}
    batches = row_batches(pg_pool)
    locks = RedisPartItemLocks(redis_client, None)  # type: ignore[arg-type]  # item creation takes no lock
    actor = Actor.for_job("test")

    async def run(savepoints: bool) -> tuple[bool, list[int]]:
        refused: list[int] = []
        async with batches(crew.org_id, import_id, savepoints) as batch:
            assert await batch.lock([1, 2, 3]) == {1, 2, 3}
            for number, serial in serials.items():
                service = PartsService(batch.for_row(number), utc_now, locks)
                try:
                    await service.create_item(actor, crew.org_id, NewPartItem(definition, serial))
                except Conflict:
                    refused.append(number)
                if batch.aborted:
                    return True, refused
            await batch.commit()
        return False, refused

    assert await run(savepoints=False) == (True, [2])
    assert await conn.fetchval("SELECT count(*) FROM part_items WHERE serial_number = $1", serials[1]) == 0
    assert await run(savepoints=True) == (False, [2])
    statuses = await conn.fetch(
        "SELECT row_number, status::text AS status FROM import_rows WHERE import_id = $1 ORDER BY row_number", import_id
    )
    assert [(row["row_number"], row["status"]) for row in statuses] == [(1, "applied"), (2, "valid"), (3, "applied")]
    audited = await conn.fetchval(
        "SELECT count(*) FROM audit_logs WHERE org_id = $1 AND entity_type = 'part_item'"
        " AND details->'actor'->>'job' = 'test'",
        crew.org_id,
    )
    assert audited == 2

    # an applied row is not applied again: a later batch does not hold it, and its unit of work refuses
    async with batches(crew.org_id, import_id, False) as batch:
        assert await batch.lock([1, 2, 3]) == {2}
        service = PartsService(batch.for_row(1), utc_now, locks)
        with pytest.raises(RowAlreadySettled):
            await service.create_item(actor, crew.org_id, NewPartItem(definition, f"again-{short_id()}"))
