"""Import rows applied in batches: one transaction per batch, one savepoint per row, the rows marked with it.

Row-level idempotency for the changes that are plain service calls (creates, program updates):
the batch first locks its rows that are still `valid` (`FOR UPDATE`), so no other attempt can
settle them meanwhile, and a row already settled is not applied at all (`RowAlreadySettled`).
Each row's service call runs in a unit of work of its own on the batch's connection. First
without savepoints (a row costs its own statements only): a row the service refuses before it
writes (a rule) simply drops what it collected; a row whose statement fails (a constraint) aborts
the transaction, the batch says so (`aborted`) and the caller runs it again with a savepoint per
row, where such a row rolls back alone and the others go on. On commit the batch writes the audit
rows and events its rows collected (one statement), marks its applied rows `applied`, and commits
once: every row's change and its mark commit together, or none does.
"""

from __future__ import annotations

import contextlib
import uuid
from types import TracebackType
from typing import Self

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from amss.app.imports.ports import RowAlreadySettled, RowBatches
from amss.app.ports import UnitOfWork, UnitOfWorkFactory
from amss.infra.postgres.errors import translate
from amss.infra.postgres.import_rows_sql import ROW_RANGE, row_range
from amss.infra.postgres.journal import Journal
from amss.infra.postgres.sql import Connection
from amss.infra.postgres.uow import Repositories


class _RowSavepoint(Repositories):
    """The unit of work of one row (or of several, changed by one call): on the batch's connection, a savepoint
    of it when the batch asks for savepoints; its journal joins the batch's when it commits."""

    def __init__(self, batch: PgRowBatch, row_numbers: list[int]) -> None:
        self._batch = batch
        self._row_numbers = row_numbers
        self._savepoint: asyncpg.transaction.Transaction | None = None
        self._committed = False

    async def __aenter__(self) -> Self:
        if not all(self._batch.holds(number) for number in self._row_numbers):
            raise RowAlreadySettled(f"a row of {self._row_numbers[:5]} is settled already")
        conn = self._batch.connection
        if self._batch.savepoints:
            self._savepoint = conn.transaction()
            await self._savepoint.start()
        self.attach(conn, Journal())
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._committed and self._savepoint is not None:
            await self._savepoint.rollback()
        if isinstance(exc, asyncpg.PostgresError):
            if self._savepoint is None:
                self._batch.aborted = True  # the transaction is in error: the batch is run again, with savepoints
            domain_error = translate(exc)
            if domain_error is not None:
                raise domain_error from exc

    async def commit(self) -> None:
        if self._savepoint is not None:
            await self._savepoint.commit()
        self._committed = True
        self._batch.applied(self._row_numbers, self.journal)


class PgRowBatch:
    """The RowBatch port: a transaction over a batch of one import's rows (see the module docstring)."""

    def __init__(self, pool: asyncpg.Pool, org_id: uuid.UUID, import_id: uuid.UUID, savepoints: bool) -> None:
        self.savepoints = savepoints
        # a row's statement failed without a savepoint: the transaction cannot go on
        self.aborted = False
        self._pool = pool
        self._org_id = org_id
        self._import_id = import_id
        self._conn: PoolConnectionProxy | None = None
        self._transaction: asyncpg.transaction.Transaction | None = None
        self._held: set[int] = set()
        self._applied: list[int] = []
        self._journal = Journal()

    @property
    def connection(self) -> Connection:
        assert self._conn is not None, "batch not entered"
        return self._conn

    def holds(self, row_number: int) -> bool:
        return row_number in self._held

    def applied(self, row_numbers: list[int], journal: Journal) -> None:
        self._held.difference_update(row_numbers)  # a row is applied once, even within the batch
        self._applied.extend(row_numbers)
        self._journal.entries.extend(journal.entries)
        self._journal.events.extend(journal.events)

    async def lock(self, row_numbers: list[int]) -> set[int]:
        """Lock the rows still `valid` among `row_numbers`: the ones this batch may apply."""
        if not row_numbers:
            self._held = set()
            return set()
        rows = await self.connection.fetch(
            "SELECT row_number FROM import_rows WHERE org_id = $1 AND import_id = $2"
            " AND row_number = ANY($3::integer[]) AND status = 'valid'"
            f" AND {ROW_RANGE.format(low='$4', high='$5')} FOR UPDATE",
            self._org_id,
            self._import_id,
            row_numbers,
            *row_range(row_numbers),
        )
        self._held = {row["row_number"] for row in rows}
        return set(self._held)

    def for_row(self, row_number: int) -> UnitOfWorkFactory:
        return self.for_rows([row_number])

    def for_rows(self, row_numbers: list[int]) -> UnitOfWorkFactory:
        def factory() -> UnitOfWork:
            return _RowSavepoint(self, list(row_numbers))

        return factory

    async def __aenter__(self) -> Self:
        conn = await self._pool.acquire()
        try:
            self._transaction = conn.transaction()
            await self._transaction.start()
        except BaseException:
            await self._pool.release(conn)
            raise
        self._conn = conn
        return self

    async def commit(self) -> None:
        conn = self.connection
        assert self._transaction is not None
        try:
            await self._journal.flush(conn)
            if self._applied:
                await conn.execute(
                    "UPDATE import_rows SET status = 'applied', updated_at = clock_timestamp()"
                    " WHERE org_id = $1 AND import_id = $2 AND row_number = ANY($3::integer[]) AND status = 'valid'"
                    f" AND {ROW_RANGE.format(low='$4', high='$5')}",
                    self._org_id,
                    self._import_id,
                    self._applied,
                    *row_range(self._applied),
                )
            await self._transaction.commit()
        except asyncpg.PostgresError as exc:
            domain_error = translate(exc)
            if domain_error is not None:
                raise domain_error from exc
            raise
        self._transaction = None

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        conn, self._conn = self._conn, None
        try:
            if self._transaction is not None and conn is not None and not conn.is_closed():
                with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                    await self._transaction.rollback()
        finally:
            if conn is not None:
                await self._pool.release(conn)


def row_batches(pool: asyncpg.Pool) -> RowBatches:
    """The RowBatches port over `pool`."""

    def open_batch(org_id: uuid.UUID, import_id: uuid.UUID, savepoints: bool) -> PgRowBatch:
        return PgRowBatch(pool, org_id, import_id, savepoints)

    return open_batch
