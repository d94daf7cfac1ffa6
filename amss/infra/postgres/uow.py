"""The Postgres unit of work: one connection, one transaction, rolled back unless committed.

Constraint and trigger violations raised inside it leave as domain errors (translated in
`errors.py`), so a use case never sees an asyncpg exception for a broken rule.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Self

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from amss.infra.postgres.aircraft_repo import PgAircraftRepository
from amss.infra.postgres.audit_repo import PgAuditRepository
from amss.infra.postgres.compliance_repo import PgComplianceRepository
from amss.infra.postgres.errors import translate
from amss.infra.postgres.imports_repo import PgImportRepository
from amss.infra.postgres.journal import Journal
from amss.infra.postgres.organizations_repo import PgOrganizationRepository
from amss.infra.postgres.outbox_repo import PgOutboxRepository
from amss.infra.postgres.parts_repo import PgPartDefinitionRepository, PgPartItemRepository, PgPartReservationRepository
from amss.infra.postgres.programs_repo import PgProgramRepository
from amss.infra.postgres.refresh_tokens_repo import PgRefreshTokenRepository
from amss.infra.postgres.sql import Connection
from amss.infra.postgres.tasks_repo import PgTaskRepository
from amss.infra.postgres.users_repo import PgUserRepository
from amss.infra.postgres.webhooks_repo import PgWebhookRepository

log = logging.getLogger(__name__)


class Repositories:
    """Every repository of a unit of work, over its one connection."""

    organizations: PgOrganizationRepository
    users: PgUserRepository
    refresh_tokens: PgRefreshTokenRepository
    aircraft: PgAircraftRepository
    audit: PgAuditRepository
    outbox: PgOutboxRepository
    part_definitions: PgPartDefinitionRepository
    part_items: PgPartItemRepository
    part_reservations: PgPartReservationRepository
    tasks: PgTaskRepository
    compliance_items: PgComplianceRepository
    programs: PgProgramRepository
    webhooks: PgWebhookRepository
    imports: PgImportRepository
    # the audit rows and outbox events collected so far, written in one statement on commit
    journal: Journal

    def attach(self, conn: Connection, journal: Journal | None = None) -> None:
        self.journal = journal if journal is not None else Journal()
        self.organizations = PgOrganizationRepository(conn)
        self.users = PgUserRepository(conn)
        self.refresh_tokens = PgRefreshTokenRepository(conn)
        self.aircraft = PgAircraftRepository(conn)
        self.audit = PgAuditRepository(conn, self.journal)
        self.outbox = PgOutboxRepository(self.journal)
        self.part_definitions = PgPartDefinitionRepository(conn)
        self.part_items = PgPartItemRepository(conn)
        self.part_reservations = PgPartReservationRepository(conn)
        self.tasks = PgTaskRepository(conn)
        self.compliance_items = PgComplianceRepository(conn)
        self.programs = PgProgramRepository(conn)
        self.webhooks = PgWebhookRepository(conn)
        self.imports = PgImportRepository(conn)


class PostgresUnitOfWork(Repositories):
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._conn: PoolConnectionProxy | None = None
        self._transaction: asyncpg.transaction.Transaction | None = None
        self._committed = False

    @property
    def connection(self) -> Connection:
        assert self._conn is not None, "unit of work not entered"
        return self._conn

    async def __aenter__(self) -> Self:
        conn = await self._pool.acquire()
        try:
            self._transaction = conn.transaction()
            await self._transaction.start()
        except BaseException:
            await self._pool.release(conn)
            raise
        self._conn = conn
        self.attach(conn)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        conn, self._conn = self._conn, None
        try:
            if not self._committed and self._transaction is not None and conn is not None and not conn.is_closed():
                try:
                    await self._transaction.rollback()
                except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as rollback_error:
                    log.warning("rollback failed", extra={"error": repr(rollback_error)})
        finally:
            if conn is not None:
                await self._pool.release(conn)
        if isinstance(exc, asyncpg.PostgresError):
            domain_error = translate(exc)
            if domain_error is not None:
                raise domain_error from exc

    async def commit(self) -> None:
        assert self._transaction is not None, "unit of work not entered"
        try:
            await self.journal.flush(self.connection)
            await self._transaction.commit()
        except asyncpg.PostgresError as exc:
            domain_error = translate(exc)
            if domain_error is not None:
                raise domain_error from exc
            raise
        self._committed = True


class BoundUnitOfWork(Repositories):
    """A unit of work inside a transaction someone else owns (the command executor's).

    Entering starts nothing and `commit()` commits nothing: the owner writes the journal (the
    audit rows and events collected here) in the same statement as the command's result, and
    commits once. Violations still leave as domain errors.
    """

    def __init__(self, conn: Connection, journal: Journal) -> None:
        self.connection = conn
        self.attach(conn, journal)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if isinstance(exc, asyncpg.PostgresError):
            domain_error = translate(exc)
            if domain_error is not None:
                raise domain_error from exc

    async def commit(self) -> None:
        return None
