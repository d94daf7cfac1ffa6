"""Drive the REST API in-process: an aiohttp test client over the real app, real Postgres and Redis.

`Tenant` is an organization with one user per role and a ready access token for each.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
from aiohttp import web

from amss.api.rest.middlewares import TOKEN_SERVICE
from amss.domain.enums import Role
from tests.clients import ApiClient
from tests.integration.factories import make_org, make_user

TEST_PASSWORD = "correct-horse-battery"


@dataclass
class Member:
    user_id: uuid.UUID
    email: str
    role: Role
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Tenant:
    org_id: uuid.UUID
    members: dict[Role, Member] = field(default_factory=dict)

    def __getitem__(self, role: Role | str) -> Member:
        return self.members[Role(role)]


def mint_token(app: web.Application, user_id: uuid.UUID, org_id: uuid.UUID, role: Role) -> str:
    return app[TOKEN_SERVICE].issue_access(user_id, org_id, role, datetime.now(UTC)).token


async def make_tenant(conn: asyncpg.Connection, app: web.Application, password_hash: str) -> Tenant:
    org_id = await make_org(conn)
    tenant = Tenant(org_id)
    for role in Role:
        email = f"{role.value}-{uuid.uuid4().hex[:8]}@example.test"
        user_id = await make_user(conn, org_id, role.value, email)
        await conn.execute("UPDATE users SET password_hash = $1 WHERE id = $2", password_hash, user_id)
        tenant.members[role] = Member(user_id, email, role, mint_token(app, user_id, org_id, role))
    return tenant


async def call(
    client: ApiClient, method: str, path: str, member: Member | None = None, json: Any = None, **kwargs: Any
) -> tuple[int, Any, Any]:
    """(status, body, headers) of one request: the body parsed when JSON, else its text; None when empty."""
    headers = dict(kwargs.pop("headers", {}) or {})
    if member is not None:
        headers.update(member.auth)
    async with client.request(method, path, json=json, headers=headers, **kwargs) as response:
        text = await response.text()
        is_json = response.content_type == "application/json"
        body = (await response.json(content_type=None) if is_json else text) if text else None
        return response.status, body, response.headers
