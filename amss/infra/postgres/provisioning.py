"""Bootstrap writes used by the command line: the first admin and its organization."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg

from amss.domain.audit import AuditEntry, job_actor
from amss.domain.enums import AuditAction, Role
from amss.domain.errors import Conflict
from amss.infra.postgres.audit_repo import insert_audit_entry


@dataclass(frozen=True)
class Provisioned:
    org_id: uuid.UUID
    user_id: uuid.UUID


async def ensure_organization(conn: asyncpg.Connection, name: str, job: str) -> tuple[uuid.UUID, bool]:
    """The live organization of that name (created with its default policy if missing); True if created."""
    existing = await conn.fetchval("SELECT id FROM organizations WHERE name = $1 AND deleted_at IS NULL", name)
    if existing is not None:
        return existing, False
    org_id: uuid.UUID = await conn.fetchval("INSERT INTO organizations (name) VALUES ($1) RETURNING id", name)
    await conn.execute("INSERT INTO org_policies (org_id) VALUES ($1)", org_id)
    await insert_audit_entry(
        conn,
        AuditEntry(org_id, "organization", org_id, AuditAction.CREATE, 1, details={**job_actor(job), "name": name}),
    )
    return org_id, True


async def create_user(
    conn: asyncpg.Connection, org_id: uuid.UUID, email: str, role: Role, password_hash: str, job: str
) -> uuid.UUID:
    user_id: uuid.UUID = await conn.fetchval(
        "INSERT INTO users (org_id, email, role, password_hash) VALUES ($1, $2, $3, $4) RETURNING id",
        org_id,
        email,
        role.value,
        password_hash,
    )
    await insert_audit_entry(
        conn,
        AuditEntry(
            org_id,
            "user",
            user_id,
            AuditAction.CREATE,
            1,
            details={**job_actor(job), "email": email, "role": role.value},
        ),
    )
    return user_id


async def create_admin(conn: asyncpg.Connection, org_name: str, email: str, password_hash: str) -> Provisioned:
    """Create (or reuse) the organization and a system admin in it; an existing email is a Conflict."""
    async with conn.transaction():
        # serialise concurrent bootstraps so the email check below cannot race
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('amss.create-admin'))")
        taken = await conn.fetchval("SELECT 1 FROM users WHERE email = $1 AND deleted_at IS NULL", email)
        if taken:
            raise Conflict(f"a user with email {email} already exists")
        org_id, _ = await ensure_organization(conn, org_name, "create-admin")
        user_id = await create_user(conn, org_id, email, Role.ADMIN, password_hash, "create-admin")
    return Provisioned(org_id, user_id)
