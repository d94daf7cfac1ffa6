"""The unit of work an import row's change runs in: its commit also marks the row applied, or rolls back.

Row-level idempotency for the changes that are plain service calls (creates, program updates):
the row's `status = 'valid' -> 'applied'` update is the transaction's last statement before the
commit, so the change and the mark commit together or not at all, and a second attempt at the
same row (another worker) finds it settled and rolls its change back (`RowAlreadySettled`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import asyncpg

from amss.app.ports import UnitOfWork, UnitOfWorkFactory
from amss.infra.postgres.imports_repo import mark_row_applied
from amss.infra.postgres.uow import PostgresUnitOfWork


class ImportRowUnitOfWork(PostgresUnitOfWork):
    def __init__(self, pool: asyncpg.Pool, org_id: uuid.UUID, import_id: uuid.UUID, row_number: int) -> None:
        super().__init__(pool)
        self._row = (org_id, import_id, row_number)

    async def commit(self) -> None:
        await mark_row_applied(self.connection, *self._row)
        await super().commit()


def import_row_unit_of_works(pool: asyncpg.Pool) -> Callable[[uuid.UUID, uuid.UUID, int], UnitOfWorkFactory]:
    """The RowUnitOfWorks port over `pool`."""

    def for_row(org_id: uuid.UUID, import_id: uuid.UUID, row_number: int) -> UnitOfWorkFactory:
        def factory() -> UnitOfWork:
            return ImportRowUnitOfWork(pool, org_id, import_id, row_number)

        return factory

    return for_row
