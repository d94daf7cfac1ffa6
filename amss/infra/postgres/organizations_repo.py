"""Organizations and their policies in Postgres."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from amss.app.paging import Page, PageRequest
from amss.app.sorts import ORGANIZATION_SORTS
from amss.domain.errors import Conflict
from amss.domain.organizations import Organization, OrgPolicy
from amss.infra.postgres.listing import Where, fetch_page
from amss.infra.postgres.sql import Connection, fetch_one

_ORG_COLUMNS = "id, name, version, created_at, updated_at, deleted_at"
_POLICY_COLUMNS = (
    "org_id, retention_interval, max_webhook_attempts, webhook_replay_window_seconds, api_rate_limit_per_min,"
    " api_key_rate_limit_per_min, rate_limits, version, created_at, updated_at"
)
_UPDATABLE_ORG = frozenset({"name"})
_UPDATABLE_POLICY = frozenset(
    {
        "retention_interval",
        "max_webhook_attempts",
        "webhook_replay_window_seconds",
        "api_rate_limit_per_min",
        "api_key_rate_limit_per_min",
        "rate_limits",
    }
)


def _organization(row: asyncpg.Record) -> Organization:
    return Organization(**dict(row))


def _policy(row: asyncpg.Record) -> OrgPolicy:
    return OrgPolicy(**dict(row))


def set_clause(changes: dict[str, Any], allowed: frozenset[str], first_parameter: int) -> tuple[str, list[Any]]:
    """`col = $n, …` for the changed columns (names checked against `allowed`), plus version and updated_at."""
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    names = sorted(changes)
    parts = [f"{name} = ${first_parameter + i}" for i, name in enumerate(names)]
    parts += ["version = version + 1", "updated_at = now()"]
    return ", ".join(parts), [changes[name] for name in names]


class PgOrganizationRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, name: str) -> Organization:
        row = await fetch_one(
            self._conn, f"INSERT INTO organizations (name) VALUES ($1) RETURNING {_ORG_COLUMNS}", name
        )
        return _organization(row)

    async def get(self, org_id: uuid.UUID, *, for_update: bool = False) -> Organization | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self._conn.fetchrow(
            f"SELECT {_ORG_COLUMNS} FROM organizations WHERE id = $1 AND deleted_at IS NULL{lock}", org_id
        )
        return _organization(row) if row else None

    async def list_page(self, page: PageRequest, name: str | None) -> Page[Organization]:
        where = Where("deleted_at IS NULL").add_if(name, "name = {}")
        return await fetch_page(
            self._conn, f"SELECT {_ORG_COLUMNS} FROM organizations", where, page, ORGANIZATION_SORTS, _organization
        )

    async def update(self, current: Organization, changes: dict[str, Any]) -> Organization:
        assignments, values = set_clause(changes, _UPDATABLE_ORG, 3)
        row = await self._conn.fetchrow(
            f"UPDATE organizations SET {assignments} WHERE id = $1 AND version = $2 AND deleted_at IS NULL"
            f" RETURNING {_ORG_COLUMNS}",
            current.id,
            current.version,
            *values,
        )
        if row is None:
            raise Conflict("the organization was changed concurrently; read it again")
        return _organization(row)

    async def add_policy(self, org_id: uuid.UUID) -> OrgPolicy:
        row = await fetch_one(
            self._conn, f"INSERT INTO org_policies (org_id) VALUES ($1) RETURNING {_POLICY_COLUMNS}", org_id
        )
        return _policy(row)

    async def get_policy(self, org_id: uuid.UUID, *, for_update: bool = False) -> OrgPolicy | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self._conn.fetchrow(f"SELECT {_POLICY_COLUMNS} FROM org_policies WHERE org_id = $1{lock}", org_id)
        return _policy(row) if row else None

    async def update_policy(self, current: OrgPolicy, changes: dict[str, Any]) -> OrgPolicy:
        assignments, values = set_clause(changes, _UPDATABLE_POLICY, 3)
        row = await self._conn.fetchrow(
            f"UPDATE org_policies SET {assignments} WHERE org_id = $1 AND version = $2 RETURNING {_POLICY_COLUMNS}",
            current.org_id,
            current.version,
            *values,
        )
        if row is None:
            raise Conflict("the policy was changed concurrently; read it again")
        return _policy(row)


def postgres_policy_loader(pool: asyncpg.Pool) -> Callable[[uuid.UUID], Awaitable[OrgPolicy | None]]:
    """The rate limits' PolicyLoader (amss.app.rate_limits): one pooled read of an organization's policy."""

    async def load(org_id: uuid.UUID) -> OrgPolicy | None:
        async with pool.acquire() as conn:
            return await PgOrganizationRepository(conn).get_policy(org_id)

    return load
