"""Idempotency keys in Postgres: an atomic claim, then the stored response or a release.

A claim is one INSERT … ON CONFLICT statement, so of two concurrent requests with one key
exactly one gets the placeholder (status_code 0). An expired row, or a placeholder of the
same request whose lease has passed (its request died), is taken over by the same statement;
a take-over gives the row a new id, so the id is the owner's token for `complete` and `release`.
Times come from the database's clock only, so servers with skewed clocks agree on leases.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import asyncpg

from amss.app.idempotency import Claimed, Existing, KeyScope, StoredResponse
from amss.infra.postgres.sql import Connection

__all__ = ["Claimed", "Existing", "KeyScope", "PgIdempotencyRepository", "PgIdempotencyStore", "StoredResponse"]

# how often the claim is retried when the row it lost to disappears (released or purged) meanwhile
_CLAIM_ATTEMPTS = 3

_CLAIM = """
INSERT INTO idempotency_keys AS k (org_id, key, endpoint, request_hash, status_code, lease_expires_at, expires_at)
VALUES ($1, $2, $3, $4, 0, now() + $5::interval, now() + $6::interval)
ON CONFLICT (org_id, key, endpoint) DO UPDATE
SET id = gen_random_uuid(),
    request_hash = EXCLUDED.request_hash,
    status_code = 0,
    response_body = NULL,
    response_raw = NULL,
    response_headers = NULL,
    lease_expires_at = EXCLUDED.lease_expires_at,
    -- a take-over of a dead placeholder keeps the 24 h counted from the first request
    created_at = CASE WHEN k.expires_at <= now() THEN now() ELSE k.created_at END,
    expires_at = CASE WHEN k.expires_at <= now() THEN EXCLUDED.expires_at ELSE k.expires_at END
WHERE (k.expires_at <= now() AND NOT (k.status_code = 0 AND k.lease_expires_at > now()))
   OR (k.status_code = 0 AND k.request_hash = EXCLUDED.request_hash
       AND (k.lease_expires_at IS NULL OR k.lease_expires_at <= now()))
RETURNING k.id
"""

_EXISTING = """
SELECT request_hash, status_code, response_raw, response_headers,
       expires_at <= now() AS expired,
       EXTRACT(EPOCH FROM (lease_expires_at - now()))::float8 AS lease_seconds_left
FROM idempotency_keys
WHERE org_id = $1 AND key = $2 AND endpoint = $3
"""

_COMPLETE = """
UPDATE idempotency_keys
SET status_code = $2, response_raw = $3, response_body = $4, response_headers = $5, lease_expires_at = NULL
WHERE id = $1 AND status_code = 0
"""

_RELEASE = "DELETE FROM idempotency_keys WHERE id = $1 AND status_code = 0"

# a placeholder whose lease is live is never purged: its request is still running
_PURGE = """
WITH doomed AS (
    SELECT id FROM idempotency_keys
    WHERE expires_at < now() AND NOT (status_code = 0 AND lease_expires_at > now())
    ORDER BY expires_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
), deleted AS (
    DELETE FROM idempotency_keys WHERE id IN (SELECT id FROM doomed) RETURNING 1
)
SELECT count(*) FROM deleted
"""


class PgIdempotencyRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def claim(self, scope: KeyScope, request_hash: str, lease: timedelta, ttl: timedelta) -> Claimed | Existing:
        for _ in range(_CLAIM_ATTEMPTS):
            key_id = await self._conn.fetchval(
                _CLAIM, scope.org_id, scope.key, scope.endpoint, request_hash, lease, ttl
            )
            if key_id is not None:
                return Claimed(key_id)
            # the conflicting row was committed by another transaction: read it in a new snapshot
            row = await self._conn.fetchrow(_EXISTING, scope.org_id, scope.key, scope.endpoint)
            if row is None or _takeable(row, request_hash):
                continue  # released, purged or expired since: claim again
            return _existing(row)
        raise RuntimeError(f"idempotency key {scope.key!r} kept changing under {_CLAIM_ATTEMPTS} claims")

    async def complete(self, key_id: uuid.UUID, response: StoredResponse, body_json: Any | None) -> bool:
        """Store the response; False when the placeholder is no longer ours (its lease was taken over)."""
        status = await self._conn.execute(
            _COMPLETE, key_id, response.status_code, response.body, body_json, response.headers
        )
        return status == "UPDATE 1"

    async def release(self, key_id: uuid.UUID) -> None:
        await self._conn.execute(_RELEASE, key_id)

    async def purge_expired(self, batch_size: int) -> int:
        """Delete up to `batch_size` expired keys; the number deleted."""
        deleted: int = await self._conn.fetchval(_PURGE, batch_size)
        return deleted


def _takeable(row: Any, request_hash: str) -> bool:
    """Mirrors the claim's WHERE: would a new claim take this row over?"""
    running = row["status_code"] == 0 and row["lease_seconds_left"] is not None and row["lease_seconds_left"] > 0
    if row["expired"] and not running:
        return True
    return row["status_code"] == 0 and row["request_hash"] == request_hash and not running


def _existing(row: Any) -> Existing:
    response = None
    if row["status_code"] != 0:
        response = StoredResponse(row["status_code"], bytes(row["response_raw"] or b""), row["response_headers"] or {})
    return Existing(row["request_hash"], response, row["lease_seconds_left"] or 0.0)


class PgIdempotencyStore:
    """The app's IdempotencyStore port over the pool: each call one pooled connection and one statement."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def claim(self, scope: KeyScope, request_hash: str, lease: timedelta, ttl: timedelta) -> Claimed | Existing:
        async with self._pool.acquire() as conn:
            return await PgIdempotencyRepository(conn).claim(scope, request_hash, lease, ttl)

    async def complete(self, key_id: uuid.UUID, response: StoredResponse, body_json: Any | None) -> bool:
        async with self._pool.acquire() as conn:
            return await PgIdempotencyRepository(conn).complete(key_id, response, body_json)

    async def release(self, key_id: uuid.UUID) -> None:
        async with self._pool.acquire() as conn:
            await PgIdempotencyRepository(conn).release(key_id)
