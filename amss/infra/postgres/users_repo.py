"""Users in Postgres (password hashes stay inside this module and the identity service)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from amss.app.paging import Page, PageRequest
from amss.app.sorts import USER_SORTS
from amss.domain.enums import Role
from amss.domain.errors import Conflict
from amss.domain.users import Credentials, User
from amss.infra.postgres.listing import Where, fetch_page
from amss.infra.postgres.organizations_repo import set_clause
from amss.infra.postgres.sql import Connection, fetch_live_row, fetch_one, soft_delete_row

_COLUMNS = (
    "id, org_id, email::text AS email, role::text AS role, version, created_at, updated_at, last_login, deleted_at"
)
_UPDATABLE = frozenset({"email", "role", "password_hash"})
# login looks at no more accounts than this for one email
_MAX_LOGIN_CANDIDATES = 20


def _user(row: asyncpg.Record) -> User:
    values = dict(row)
    values["role"] = Role(values["role"])
    values.pop("password_hash", None)
    return User(**values)


class PgUserRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, org_id: uuid.UUID, email: str, role: Role, password_hash: str) -> User:
        row = await fetch_one(
            self._conn,
            f"INSERT INTO users (org_id, email, role, password_hash) VALUES ($1, $2, $3, $4) RETURNING {_COLUMNS}",
            org_id,
            email,
            role.value,
            password_hash,
        )
        return _user(row)

    async def get(self, org_id: uuid.UUID, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
        row = await fetch_live_row(self._conn, "users", _COLUMNS, org_id, user_id, for_update=for_update)
        return _user(row) if row else None

    async def list_page(self, org_id: uuid.UUID, page: PageRequest, role: Role | None, email: str | None) -> Page[User]:
        where = Where("org_id = {}", org_id).add("deleted_at IS NULL")
        where.add_if(role.value if role else None, "role = {}::user_role").add_if(email, "email = {}::citext")
        return await fetch_page(self._conn, f"SELECT {_COLUMNS} FROM users", where, page, USER_SORTS, _user)

    async def update(self, current: User, changes: dict[str, Any]) -> User:
        values_by_column = {key: (value.value if isinstance(value, Role) else value) for key, value in changes.items()}
        assignments, values = set_clause(values_by_column, _UPDATABLE, 4)
        row = await self._conn.fetchrow(
            f"UPDATE users SET {assignments} WHERE org_id = $1 AND id = $2 AND version = $3 AND deleted_at IS NULL"
            f" RETURNING {_COLUMNS}",
            current.org_id,
            current.id,
            current.version,
            *values,
        )
        if row is None:
            raise Conflict("the user was changed concurrently; read it again")
        return _user(row)

    async def soft_delete(self, current: User, at: datetime) -> User:
        row = await soft_delete_row(
            self._conn, "users", _COLUMNS, current, at, "the user was changed concurrently; read it again"
        )
        return _user(row)

    async def login_candidates(self, email: str, org_id: uuid.UUID | None) -> list[Credentials]:
        where = Where("u.email = {}::citext", email).add("u.deleted_at IS NULL").add("o.deleted_at IS NULL")
        where.add_if(org_id, "u.org_id = {}")
        rows = await self._conn.fetch(
            "SELECT u.id, u.org_id, u.email::text AS email, u.role::text AS role, u.version, u.created_at,"
            " u.updated_at, u.last_login, u.deleted_at, u.password_hash"
            f" FROM users u JOIN organizations o ON o.id = u.org_id WHERE {where.sql}"
            f" ORDER BY u.created_at LIMIT {_MAX_LOGIN_CANDIDATES}",
            *where.args,
        )
        return [Credentials(_user(row), row["password_hash"]) for row in rows]

    async def record_login(self, user: User, at: datetime) -> None:
        # last_login is bookkeeping, not a change of the user: version stays
        await self._conn.execute(
            "UPDATE users SET last_login = $3 WHERE org_id = $1 AND id = $2", user.org_id, user.id, at
        )

    async def replace_password_hash(self, user: User, old_hash: str, new_hash: str) -> None:
        """Re-hash at the configured cost: bookkeeping like last_login (version stays), and only while the
        stored hash is still `old_hash`, so a password changed meanwhile is never overwritten."""
        await self._conn.execute(
            "UPDATE users SET password_hash = $4 WHERE org_id = $1 AND id = $2 AND password_hash = $3",
            user.org_id,
            user.id,
            old_hash,
            new_hash,
        )
