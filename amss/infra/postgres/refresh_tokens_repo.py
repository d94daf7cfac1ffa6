"""Refresh tokens in Postgres: stored only as SHA-256 hashes, grouped in families per login."""

from __future__ import annotations

import uuid
from datetime import datetime

from amss.app.ports import NewRefreshToken, RefreshTokenRecord
from amss.infra.postgres.sql import Connection

_COLUMNS = "id, org_id, user_id, family_id, expires_at, used_at, revoked_at"


class PgRefreshTokenRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, token: NewRefreshToken) -> uuid.UUID:
        token_id: uuid.UUID = await self._conn.fetchval(
            "INSERT INTO refresh_tokens (org_id, user_id, family_id, token_hash, issued_at, expires_at,"
            " ip_address, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            token.org_id,
            token.user_id,
            token.family_id,
            token.token_hash,
            token.issued_at,
            token.expires_at,
            token.ip_address,
            token.user_agent,
        )
        return token_id

    async def lock_by_hash(self, token_hash: bytes) -> RefreshTokenRecord | None:
        """The token's row, locked until the transaction ends, after its user's row.

        The user's row lock (FOR NO KEY UPDATE) puts every refresh and logout of the user's tokens in
        line with each other and with the user's own changes (which lock it FOR UPDATE, then revoke):
        so a logout or a revocation never misses a pair that a concurrent refresh (a retry within the
        reuse grace, say) was issuing, and both take their locks in the same order (user, then tokens).
        """
        owner = await self._conn.fetchval(
            "SELECT u.id FROM refresh_tokens t JOIN users u ON u.org_id = t.org_id AND u.id = t.user_id"
            " WHERE t.token_hash = $1 FOR NO KEY UPDATE OF u",
            token_hash,
        )
        if owner is None:
            return None
        row = await self._conn.fetchrow(
            f"SELECT {_COLUMNS} FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE", token_hash
        )
        return RefreshTokenRecord(**dict(row)) if row else None

    async def mark_used(self, token_id: uuid.UUID, replaced_by: uuid.UUID | None, at: datetime) -> None:
        await self._conn.execute(
            "UPDATE refresh_tokens SET used_at = $3, replaced_by = $2 WHERE id = $1", token_id, replaced_by, at
        )

    async def revoke_family(self, family_id: uuid.UUID, at: datetime) -> None:
        await self._conn.execute(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL", family_id, at
        )

    async def revoke_user(self, org_id: uuid.UUID, user_id: uuid.UUID, at: datetime) -> None:
        await self._conn.execute(
            "UPDATE refresh_tokens SET revoked_at = $3 WHERE org_id = $1 AND user_id = $2 AND revoked_at IS NULL",
            org_id,
            user_id,
            at,
        )
