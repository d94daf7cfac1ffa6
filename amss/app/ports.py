"""The ports the use cases need: repositories and the unit of work that groups them.

A unit of work is one database transaction: it rolls back unless `commit()` is called, and
every repository reached through it shares that transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from amss.app.aircraft.ports import AircraftRepository
from amss.app.imports.ports import ImportRepository
from amss.app.paging import Page, PageRequest
from amss.app.parts.ports import PartDefinitionRepository, PartItemRepository, PartReservationRepository
from amss.app.programs.ports import ProgramRepository
from amss.app.tasks.ports import ComplianceRepository, TaskRepository
from amss.app.webhooks.ports import WebhookRepository
from amss.domain.audit import AuditEntry, AuditFilter, AuditRecord
from amss.domain.enums import Role
from amss.domain.errors import DomainError
from amss.domain.events import DomainEvent
from amss.domain.organizations import Organization, OrgPolicy
from amss.domain.users import Credentials, User


@dataclass(frozen=True)
class RefreshTokenRecord:
    id: uuid.UUID
    org_id: uuid.UUID
    user_id: uuid.UUID
    family_id: uuid.UUID
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class NewRefreshToken:
    org_id: uuid.UUID
    user_id: uuid.UUID
    family_id: uuid.UUID
    token_hash: bytes
    issued_at: datetime
    expires_at: datetime
    ip_address: str | None
    user_agent: str | None


class OrganizationRepository(Protocol):
    async def add(self, name: str) -> Organization: ...
    async def get(self, org_id: uuid.UUID, *, for_update: bool = False) -> Organization | None: ...
    async def list_page(self, page: PageRequest, name: str | None) -> Page[Organization]: ...
    async def update(self, current: Organization, changes: dict[str, Any]) -> Organization: ...
    async def add_policy(self, org_id: uuid.UUID) -> OrgPolicy: ...
    async def get_policy(self, org_id: uuid.UUID, *, for_update: bool = False) -> OrgPolicy | None: ...
    async def update_policy(self, current: OrgPolicy, changes: dict[str, Any]) -> OrgPolicy: ...


class UserRepository(Protocol):
    async def add(self, org_id: uuid.UUID, email: str, role: Role, password_hash: str) -> User: ...
    async def get(self, org_id: uuid.UUID, user_id: uuid.UUID, *, for_update: bool = False) -> User | None: ...
    async def list_page(
        self, org_id: uuid.UUID, page: PageRequest, role: Role | None, email: str | None
    ) -> Page[User]: ...
    async def update(self, current: User, changes: dict[str, Any]) -> User: ...
    async def soft_delete(self, current: User, at: datetime) -> User: ...
    async def login_candidates(self, email: str, org_id: uuid.UUID | None) -> list[Credentials]: ...
    async def record_login(self, user: User, at: datetime) -> None: ...
    async def replace_password_hash(self, user: User, old_hash: str, new_hash: str) -> None: ...


class RefreshTokenRepository(Protocol):
    async def add(self, token: NewRefreshToken) -> uuid.UUID: ...
    async def lock_by_hash(self, token_hash: bytes) -> RefreshTokenRecord | None: ...
    async def mark_used(self, token_id: uuid.UUID, replaced_by: uuid.UUID | None, at: datetime) -> None: ...
    async def revoke_family(self, family_id: uuid.UUID, at: datetime) -> None: ...
    async def revoke_user(self, org_id: uuid.UUID, user_id: uuid.UUID, at: datetime) -> None: ...


class AuditRepository(Protocol):
    async def add(self, entry: AuditEntry) -> None: ...
    async def list_page(self, org_id: uuid.UUID, page: PageRequest, audit_filter: AuditFilter) -> Page[AuditRecord]: ...
    async def now(self) -> datetime:
        """The database clock, which stamps every new row's `timestamp`."""
        ...


class OutboxRepository(Protocol):
    async def add(self, event: DomainEvent) -> uuid.UUID: ...


class UnitOfWork(Protocol):
    @property
    def organizations(self) -> OrganizationRepository: ...
    @property
    def users(self) -> UserRepository: ...
    @property
    def refresh_tokens(self) -> RefreshTokenRepository: ...
    @property
    def aircraft(self) -> AircraftRepository: ...
    @property
    def audit(self) -> AuditRepository: ...
    @property
    def outbox(self) -> OutboxRepository: ...
    @property
    def part_definitions(self) -> PartDefinitionRepository: ...
    @property
    def part_items(self) -> PartItemRepository: ...
    @property
    def part_reservations(self) -> PartReservationRepository: ...
    @property
    def tasks(self) -> TaskRepository: ...
    @property
    def compliance_items(self) -> ComplianceRepository: ...
    @property
    def programs(self) -> ProgramRepository: ...
    @property
    def webhooks(self) -> WebhookRepository: ...
    @property
    def imports(self) -> ImportRepository: ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...
    async def commit(self) -> None: ...


class PartItemLocks(Protocol):
    """A distributed lock on one part item, held while it is reserved (Redis in production).

    `hold` refuses with Conflict when another holder keeps the lock past a short wait."""

    def hold(self, org_id: uuid.UUID, part_item_id: uuid.UUID) -> AbstractAsyncContextManager[None]: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
Clock = Callable[[], datetime]


class ErrorTranslator(Protocol):
    def translate(self, error: Exception) -> DomainError | None:
        """The rule a database error broke (a constraint, a trigger), or None for any other error."""
        ...
