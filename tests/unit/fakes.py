"""In-memory fakes of the application ports, for use-case tests without I/O (Cosmic Python style)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from amss.app.paging import Page, PageRequest
from amss.app.ports import NewRefreshToken, RefreshTokenRecord
from amss.domain.audit import AuditEntry, AuditFilter, AuditRecord
from amss.domain.enums import Role
from amss.domain.users import Credentials, User


class FakeClock:
    def __init__(self, now: datetime | None = None) -> None:
        self.now = now or datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class FakeUsers:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, tuple[User, str]] = {}

    def put(self, org_id: uuid.UUID, email: str, role: Role, password_hash: str) -> User:
        now = datetime(2026, 1, 1, tzinfo=UTC)
        user = User(uuid.uuid4(), org_id, email, role, 1, now, now)
        self.rows[user.id] = (user, password_hash)
        return user

    async def add(self, org_id: uuid.UUID, email: str, role: Role, password_hash: str) -> User:
        return self.put(org_id, email, role, password_hash)

    async def get(self, org_id: uuid.UUID, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
        row = self.rows.get(user_id)
        if row is None or row[0].org_id != org_id or row[0].deleted_at is not None:
            return None
        return row[0]

    async def list_page(self, org_id: uuid.UUID, page: PageRequest, role: Role | None, email: str | None) -> Page[User]:
        return Page([u for u, _ in self.rows.values() if u.org_id == org_id], None)

    async def update(self, current: User, changes: dict[str, Any]) -> User:
        user, password_hash = self.rows[current.id]
        password_hash = changes.pop("password_hash", password_hash)
        updated = replace(user, **changes, version=user.version + 1)
        self.rows[current.id] = (updated, password_hash)
        return updated

    async def soft_delete(self, current: User, at: datetime) -> User:
        user, password_hash = self.rows[current.id]
        deleted = replace(user, deleted_at=at, version=user.version + 1)
        self.rows[current.id] = (deleted, password_hash)
        return deleted

    async def login_candidates(self, email: str, org_id: uuid.UUID | None) -> list[Credentials]:
        return [
            Credentials(user, password_hash)
            for user, password_hash in self.rows.values()
            if user.email.lower() == email.lower() and user.deleted_at is None and org_id in (None, user.org_id)
        ]

    async def record_login(self, user: User, at: datetime) -> None:
        stored, password_hash = self.rows[user.id]
        self.rows[user.id] = (replace(stored, last_login=at), password_hash)

    async def replace_password_hash(self, user: User, old_hash: str, new_hash: str) -> None:
        stored, password_hash = self.rows[user.id]
        if password_hash == old_hash:
            self.rows[user.id] = (stored, new_hash)


class FakeRefreshTokens:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, dict[str, Any]] = {}

    async def add(self, token: NewRefreshToken) -> uuid.UUID:
        token_id = uuid.uuid4()
        self.rows[token_id] = {"token": token, "used_at": None, "revoked_at": None, "replaced_by": None}
        return token_id

    async def lock_by_hash(self, token_hash: bytes) -> RefreshTokenRecord | None:
        for token_id, row in self.rows.items():
            token: NewRefreshToken = row["token"]
            if token.token_hash == token_hash:
                return RefreshTokenRecord(
                    token_id,
                    token.org_id,
                    token.user_id,
                    token.family_id,
                    token.expires_at,
                    row["used_at"],
                    row["revoked_at"],
                )
        return None

    async def mark_used(self, token_id: uuid.UUID, replaced_by: uuid.UUID | None, at: datetime) -> None:
        self.rows[token_id].update(used_at=at, replaced_by=replaced_by)

    async def revoke_family(self, family_id: uuid.UUID, at: datetime) -> None:
        for row in self.rows.values():
            if row["token"].family_id == family_id and row["revoked_at"] is None:
                row["revoked_at"] = at

    async def revoke_user(self, org_id: uuid.UUID, user_id: uuid.UUID, at: datetime) -> None:
        for row in self.rows.values():
            if row["token"].user_id == user_id and row["revoked_at"] is None:
                row["revoked_at"] = at


class FakeAudit:
    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    async def add(self, entry: AuditEntry) -> None:
        self.entries.append(entry)

    async def list_page(self, org_id: uuid.UUID, page: PageRequest, audit_filter: AuditFilter) -> Page[AuditRecord]:
        raise NotImplementedError("the identity use cases never list audit rows")

    async def now(self) -> datetime:
        raise NotImplementedError("the identity use cases never read the database clock")


class FakeUnitOfWork:
    """Shares its repositories across units; `commits` counts commit() calls."""

    def __init__(self) -> None:
        self.users = FakeUsers()
        self.refresh_tokens = FakeRefreshTokens()
        self.audit = FakeAudit()
        # the repositories the identity use cases never reach
        self.organizations: Any = None
        self.aircraft: Any = None
        self.outbox: Any = None
        self.part_definitions: Any = None
        self.part_items: Any = None
        self.part_reservations: Any = None
        self.tasks: Any = None
        self.compliance_items: Any = None
        self.programs: Any = None
        self.webhooks: Any = None
        self.imports: Any = None
        self.commits = 0

    def __call__(self) -> Self:
        return self

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    async def commit(self) -> None:
        self.commits += 1


class CountingPasswords:
    """Passwords are stored as 'hash:<password>' ('old:<password>' for a hash of another cost); records
    every verification."""

    decoy_hash = "hash:<decoy>"

    def __init__(self) -> None:
        self.verified: list[str] = []

    async def hash(self, password: str) -> str:
        return f"hash:{password}"

    async def verify(self, password: str, password_hash: str) -> bool:
        self.verified.append(password_hash)
        return password_hash.partition(":")[2] == password and password_hash.startswith(("hash:", "old:"))

    def needs_rehash(self, password_hash: str) -> bool:
        return not password_hash.startswith("hash:")


class FakeAccessTokens:
    def issue(self, user_id: uuid.UUID, org_id: uuid.UUID, role: Role, now: datetime) -> tuple[str, int]:
        return f"access:{user_id}:{role.value}", 900


class FakeRefreshMinter:
    def __init__(self) -> None:
        self.count = 0

    def mint(self) -> tuple[str, bytes]:
        self.count += 1
        token = f"refresh-{self.count}"
        return token, self.digest(token)

    def digest(self, token: str) -> bytes:
        return token.encode()
