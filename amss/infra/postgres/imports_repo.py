"""CSV imports in Postgres: uploads and reads (in a unit of work), and the worker's job store (short transactions).

The job store's lease is `locked_by`/`locked_until` on the imports row; every write of a job checks
that the worker still holds it, so a worker that lost its lease changes nothing. Rows are staged
with `ON CONFLICT DO NOTHING` on `(org_id, import_id, row_number)` and settled only while still
`valid`: staging twice or settling twice changes nothing. The file is read with `substring()` of
the (uncompressed, out-of-line: migration 00021) bytea, a chunk per round trip.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any, Final

import asyncpg

from amss.app.imports.ports import (
    Claimed,
    ExistingItem,
    GaveUp,
    ImportRecord,
    ImportRowRecord,
    ImportSummary,
    NewImport,
    RowAlreadySettled,
    RowVerdict,
    StagedRow,
)
from amss.app.paging import Page, PageRequest
from amss.app.sorts import IMPORT_ROW_SORTS, IMPORT_SORTS
from amss.domain.enums import ImportRowStatus, ImportStatus, ImportType, PartItemStatus
from amss.infra.postgres.import_rows_sql import ROW_RANGE, row_range
from amss.infra.postgres.json_codec import encode_json
from amss.infra.postgres.listing import Where, fetch_page
from amss.infra.postgres.sql import Connection, fetch_one

IMPORT_COLUMNS: Final = (
    "id, org_id, type::text AS type, status::text AS status, file_name, byte_size, principal, request_id,"
    " summary, error, attempts, version, created_at, updated_at"
)
ROW_COLUMNS: Final = "id, row_number, raw, status::text AS status, errors, rejected, updated_at"
_UNFINISHED: Final = "('pending', 'validating', 'applying')"
_COUNTS: Final = (
    "SELECT count(*) AS total,"
    " count(*) FILTER (WHERE status IN ('valid', 'applied') OR rejected) AS valid,"
    " count(*) FILTER (WHERE status = 'invalid') AS invalid,"
    " count(*) FILTER (WHERE status = 'applied') AS applied,"
    " count(*) FILTER (WHERE rejected) AS rejected"
    " FROM import_rows WHERE org_id = $1 AND import_id = $2"
)


def _summary(value: Any) -> ImportSummary:
    if not isinstance(value, dict):
        return ImportSummary()
    return ImportSummary(
        **{name: int(value.get(name, 0)) for name in ("total", "valid", "invalid", "applied", "rejected")}
    )


def import_from_row(row: asyncpg.Record) -> ImportRecord:
    values = dict(row)
    values["type"] = ImportType(values["type"])
    values["status"] = ImportStatus(values["status"])
    values["summary"] = _summary(values["summary"])
    return ImportRecord(**values)


def _row_from_row(row: asyncpg.Record) -> ImportRowRecord:
    values = dict(row)
    values["status"] = ImportRowStatus(values["status"])
    return ImportRowRecord(**values)


async def _counts(conn: Connection, org_id: uuid.UUID, import_id: uuid.UUID) -> ImportSummary:
    row = await fetch_one(conn, _COUNTS, org_id, import_id)
    return ImportSummary(**{name: int(row[name]) for name in ("total", "valid", "invalid", "applied", "rejected")})


class PgImportRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, org_id: uuid.UUID, new: NewImport) -> ImportRecord:
        row = await fetch_one(
            self._conn,
            "INSERT INTO imports (org_id, type, file_name, content, byte_size, created_by, principal, request_id)"
            f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {IMPORT_COLUMNS}",
            org_id,
            new.type.value,
            new.file_name,
            new.content,
            len(new.content),
            new.created_by,
            new.principal,
            new.request_id,
        )
        return import_from_row(row)

    async def get(self, org_id: uuid.UUID, import_id: uuid.UUID) -> ImportRecord | None:
        row = await self._conn.fetchrow(
            f"SELECT {IMPORT_COLUMNS} FROM imports WHERE org_id = $1 AND id = $2", org_id, import_id
        )
        return import_from_row(row) if row is not None else None

    async def list_page(self, org_id: uuid.UUID, page: PageRequest) -> Page[ImportRecord]:
        select = f"SELECT {IMPORT_COLUMNS} FROM imports"
        return await fetch_page(self._conn, select, Where("org_id = {}", org_id), page, IMPORT_SORTS, import_from_row)

    async def rows_page(
        self, org_id: uuid.UUID, import_id: uuid.UUID, status: ImportRowStatus | None, page: PageRequest
    ) -> Page[ImportRowRecord]:
        where = Where("org_id = {}", org_id).add("import_id = {}", import_id)
        where.add_if(status.value if status is not None else None, "status = {}::import_row_status")
        select = f"SELECT {ROW_COLUMNS} FROM import_rows"
        return await fetch_page(self._conn, select, where, page, IMPORT_ROW_SORTS, _row_from_row)

    async def counts(self, org_id: uuid.UUID, import_id: uuid.UUID) -> ImportSummary:
        return await _counts(self._conn, org_id, import_id)


async def mark_row_applied(conn: Connection, org_id: uuid.UUID, import_id: uuid.UUID, row_number: int) -> None:
    """In the row's change's own transaction: the row becomes applied, or the change rolls back."""
    marked = await conn.fetchval(
        "UPDATE import_rows SET status = 'applied', updated_at = clock_timestamp()"
        " WHERE org_id = $1 AND import_id = $2 AND row_number = $3 AND status = 'valid' RETURNING true",
        org_id,
        import_id,
        row_number,
    )
    if not marked:
        raise RowAlreadySettled(f"import {import_id} row {row_number} is settled already")


class PgImportJobStore:
    """The import job's storage (amss.app.imports.ports.ImportJobStore) over the pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def claim(
        self, org_id: uuid.UUID, import_id: uuid.UUID, worker: str, lease: timedelta, max_attempts: int
    ) -> Claimed | GaveUp | None:
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT attempts, status::text AS status FROM imports WHERE org_id = $1 AND id = $2"
                f" AND status IN {_UNFINISHED} AND (locked_until IS NULL OR locked_until < clock_timestamp()"
                " OR locked_by = $3) FOR UPDATE",
                org_id,
                import_id,
                worker,
            )
            if row is None:
                return None
            if row["attempts"] >= max_attempts:
                counts = await _counts(conn, org_id, import_id)
                error = f"gave up after {row['attempts']} attempts: the workers processing it kept stopping"
                failed = await fetch_one(
                    conn,
                    "UPDATE imports SET status = 'failed', error = $3, summary = $4, locked_by = NULL,"
                    " locked_until = NULL, version = version + 1, updated_at = clock_timestamp()"
                    f" WHERE org_id = $1 AND id = $2 RETURNING {IMPORT_COLUMNS}",
                    org_id,
                    import_id,
                    error,
                    counts.as_json(),
                )
                return GaveUp(import_from_row(failed))
            claimed = await fetch_one(
                conn,
                "UPDATE imports SET attempts = attempts + 1, locked_by = $3,"
                " locked_until = clock_timestamp() + $4::interval"
                f" WHERE org_id = $1 AND id = $2 RETURNING {IMPORT_COLUMNS}",
                org_id,
                import_id,
                worker,
                lease,
            )
            return Claimed(import_from_row(claimed))

    async def renew(self, org_id: uuid.UUID, import_id: uuid.UUID, worker: str, lease: timedelta) -> bool:
        async with self._pool.acquire() as conn:
            renewed = await conn.fetchval(
                "UPDATE imports SET locked_until = clock_timestamp() + $4::interval"
                f" WHERE org_id = $1 AND id = $2 AND locked_by = $3 AND status IN {_UNFINISHED} RETURNING true",
                org_id,
                import_id,
                worker,
                lease,
            )
        return bool(renewed)

    async def release(self, org_id: uuid.UUID, import_id: uuid.UUID, worker: str, *, refund: bool) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "UPDATE imports SET locked_by = NULL, locked_until = NULL,"
                " attempts = CASE WHEN $4 THEN greatest(attempts - 1, 0) ELSE attempts END"
                " WHERE org_id = $1 AND id = $2 AND locked_by = $3",
                org_id,
                import_id,
                worker,
                refund,
            )

    async def set_status(
        self,
        org_id: uuid.UUID,
        import_id: uuid.UUID,
        worker: str,
        status: ImportStatus,
        summary: ImportSummary | None = None,
        error: str | None = None,
    ) -> bool:
        finished = status in (ImportStatus.COMPLETED, ImportStatus.FAILED)
        async with self._pool.acquire() as conn:
            changed = await conn.fetchval(
                "UPDATE imports SET status = $4::import_status, summary = coalesce($5, summary), error = $6,"
                " version = version + CASE WHEN status = $4::import_status THEN 0 ELSE 1 END,"
                " updated_at = clock_timestamp(),"
                " locked_by = CASE WHEN $7 THEN NULL ELSE locked_by END,"
                " locked_until = CASE WHEN $7 THEN NULL ELSE locked_until END"
                f" WHERE org_id = $1 AND id = $2 AND locked_by = $3 AND status IN {_UNFINISHED} RETURNING true",
                org_id,
                import_id,
                worker,
                status.value,
                summary.as_json() if summary is not None else None,
                error,
                finished,
            )
        return bool(changed)

    async def read_chunk(self, org_id: uuid.UUID, import_id: uuid.UUID, offset: int, size: int) -> bytes:
        async with self._pool.acquire() as conn:
            chunk = await conn.fetchval(
                "SELECT substring(content FROM $3::integer FOR $4::integer) FROM imports WHERE org_id = $1 AND id = $2",
                org_id,
                import_id,
                offset + 1,
                size,
            )
        return bytes(chunk or b"")

    async def staged_through(self, org_id: uuid.UUID, import_id: uuid.UUID) -> int:
        async with self._pool.acquire() as conn:
            last = await conn.fetchval(
                "SELECT max(row_number) FROM import_rows WHERE org_id = $1 AND import_id = $2", org_id, import_id
            )
        return int(last or 0)

    async def stage(self, org_id: uuid.UUID, import_id: uuid.UUID, rows: list[StagedRow]) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO import_rows (org_id, import_id, row_number, raw, status, errors)"
                " SELECT $1, $2, number, raw::jsonb, status, errors::jsonb"
                " FROM unnest($3::integer[], $4::text[], $5::import_row_status[], $6::text[])"
                " AS staged (number, raw, status, errors)"
                " ON CONFLICT (org_id, import_id, row_number) DO NOTHING",
                org_id,
                import_id,
                [row.row_number for row in rows],
                [encode_json(row.raw) for row in rows],
                ["valid" if row.valid else "invalid" for row in rows],
                [encode_json(row.errors) for row in rows],
            )

    async def valid_rows(
        self, org_id: uuid.UUID, import_id: uuid.UUID, after_row: int, limit: int
    ) -> list[tuple[int, dict[str, str]]]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT row_number, raw FROM import_rows WHERE org_id = $1 AND import_id = $2 AND status = 'valid'"
                " AND row_number > $3 ORDER BY row_number LIMIT $4",
                org_id,
                import_id,
                after_row,
                limit,
            )
        return [(row["row_number"], row["raw"]) for row in rows]

    async def settle(self, org_id: uuid.UUID, import_id: uuid.UUID, verdicts: list[RowVerdict]) -> None:
        if not verdicts:
            return
        numbers = [verdict.row_number for verdict in verdicts]
        async with self._pool.acquire() as conn:
            await conn.execute(
                "UPDATE import_rows AS r SET"
                " status = CASE WHEN cardinality(v.errors) = 0 THEN 'applied' ELSE 'invalid' END::import_row_status,"
                " rejected = cardinality(v.errors) > 0,"
                " errors = to_jsonb(v.errors), updated_at = clock_timestamp()"
                " FROM (SELECT number, ARRAY(SELECT jsonb_array_elements_text(errors::jsonb)) AS errors"
                "  FROM unnest($3::integer[], $4::text[]) AS given (number, errors)) AS v"
                " WHERE r.org_id = $1 AND r.import_id = $2 AND r.row_number = v.number AND r.status = 'valid'"
                f" AND {ROW_RANGE.format(low='$5', high='$6').replace('row_number', 'r.row_number')}",
                org_id,
                import_id,
                numbers,
                [encode_json(verdict.errors) for verdict in verdicts],
                *row_range(numbers),
            )

    async def counts(self, org_id: uuid.UUID, import_id: uuid.UUID) -> ImportSummary:
        async with self._pool.acquire() as conn:
            return await _counts(conn, org_id, import_id)

    async def aircraft_ids(self, org_id: uuid.UUID, tail_numbers: Iterable[str]) -> dict[str, uuid.UUID]:
        tails = sorted(set(tail_numbers))
        if not tails:
            return {}
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT tail_number, id FROM aircraft WHERE org_id = $1 AND tail_number = ANY($2::text[])"
                " AND deleted_at IS NULL",
                org_id,
                tails,
            )
        return {row["tail_number"]: row["id"] for row in rows}

    async def items_by_serial(self, org_id: uuid.UUID, serial_numbers: Iterable[str]) -> dict[str, ExistingItem]:
        serials = sorted(set(serial_numbers))
        if not serials:
            return {}
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                # one index probe per serial (LIMIT 1 keeps the planner from flattening it into a scan of the
                # org's items filtered by `= ANY`, which it picks while part_items is not analysed yet); the live
                # (org_id, serial_number) key is unique, so LIMIT 1 drops nothing
                "SELECT i.serial_number, i.id, i.part_definition_id, i.status::text AS status, i.expiry_date"
                " FROM unnest($2::text[]) AS wanted (serial_number) CROSS JOIN LATERAL"
                " (SELECT serial_number, id, part_definition_id, status, expiry_date FROM part_items"
                "  WHERE org_id = $1 AND serial_number = wanted.serial_number AND deleted_at IS NULL LIMIT 1) AS i",
                org_id,
                serials,
            )
        return {
            row["serial_number"]: ExistingItem(
                row["id"], row["part_definition_id"], PartItemStatus(row["status"]), row["expiry_date"]
            )
            for row in rows
        }

    async def definition_ids(self, org_id: uuid.UUID, names: Iterable[str]) -> dict[str, uuid.UUID]:
        wanted = sorted(set(names))
        if not wanted:
            return {}
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT name, id FROM part_definitions WHERE org_id = $1 AND name = ANY($2::text[])"
                " AND deleted_at IS NULL",
                org_id,
                wanted,
            )
        return {row["name"]: row["id"] for row in rows}

    async def program_ids(
        self, org_id: uuid.UUID, keys: Iterable[tuple[str, uuid.UUID | None]]
    ) -> Mapping[tuple[str, uuid.UUID | None], tuple[uuid.UUID, str]]:
        wanted = list(set(keys))
        if not wanted:
            return {}
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT p.name, p.aircraft_id, p.id, p.interval_type::text AS interval_type"
                " FROM maintenance_programs AS p"
                " JOIN unnest($2::text[], $3::uuid[]) AS k (name, aircraft_id)"
                "   ON p.name = k.name AND p.aircraft_id IS NOT DISTINCT FROM k.aircraft_id"
                " WHERE p.org_id = $1 AND p.deleted_at IS NULL",
                org_id,
                [name for name, _ in wanted],
                [aircraft_id for _, aircraft_id in wanted],
            )
        return {(row["name"], row["aircraft_id"]): (row["id"], row["interval_type"]) for row in rows}

    async def unfinished(self, older_than: timedelta, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "UPDATE imports SET redriven_at = clock_timestamp() WHERE id IN ("
                f" SELECT id FROM imports WHERE status IN {_UNFINISHED}"
                " AND (locked_until IS NULL OR locked_until < clock_timestamp())"
                " AND coalesce(redriven_at, updated_at) < clock_timestamp() - $1::interval"
                " ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING org_id, id",
                older_than,
                limit,
            )
        return [(row["org_id"], row["id"]) for row in rows]
