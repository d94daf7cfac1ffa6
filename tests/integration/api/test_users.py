"""Users: create, read, list with filters, update with If-Match, soft delete, admin protection, audit rows."""

from __future__ import annotations

import uuid

import asyncpg

from amss.infra.postgres.sql import fetch_one
from tests.api_support import Tenant, call
from tests.clients import ApiClient


def _new_user(role: str = "mechanic") -> dict[str, str]:
    return {"email": f"new-{uuid.uuid4().hex[:8]}@example.test", "role": role, "password": "twelve-chars-ok"}


async def test_create_user_answers_201_with_location_and_never_the_hash(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    status, body, headers = await call(api, "POST", "/api/v1/users", tenant["tenant_admin"], json=_new_user())
    assert status == 201
    assert headers["Location"] == f"/api/v1/users/{body['id']}"
    assert body["org_id"] == str(tenant.org_id)
    assert body["version"] == 1
    assert "password" not in str(body) and "password_hash" not in body
    assert body["created_at"].endswith("Z")
    audit = await fetch_one(
        conn,
        "SELECT action::text, user_id, entity_version, details FROM audit_logs WHERE entity_id = $1",
        uuid.UUID(body["id"]),
    )
    assert audit["action"] == "create"
    assert audit["user_id"] == tenant["tenant_admin"].user_id
    assert audit["details"]["role"] == "mechanic"


async def test_password_shorter_than_12_is_400_naming_the_field(api: ApiClient, tenant: Tenant) -> None:
    status, body, _ = await call(
        api, "POST", "/api/v1/users", tenant["admin"], json={**_new_user(), "password": "short"}
    )
    assert status == 400
    assert body["code"] == "VALIDATION_ERROR"
    assert "12" in body["details"]["fields"]["password"]


async def test_duplicate_email_in_the_organization_is_409(api: ApiClient, tenant: Tenant) -> None:
    status, body, _ = await call(
        api, "POST", "/api/v1/users", tenant["admin"], json={**_new_user(), "email": tenant["mechanic"].email.upper()}
    )
    assert status == 409
    assert body["code"] == "CONFLICT"


async def test_list_filters_by_role_and_email_and_paginates(api: ApiClient, tenant: Tenant) -> None:
    status, body, _ = await call(api, "GET", "/api/v1/users?role=auditor", tenant["scheduler"])
    assert status == 200
    assert [item["id"] for item in body["items"]] == [str(tenant["auditor"].user_id)]
    status, body, _ = await call(api, "GET", f"/api/v1/users?email={tenant['mechanic'].email}", tenant["scheduler"])
    assert [item["role"] for item in body["items"]] == ["mechanic"]
    seen: list[str] = []
    cursor = None
    while True:
        query = "/api/v1/users?limit=2&sort=-email" + (f"&cursor={cursor}" if cursor else "")
        status, page, _ = await call(api, "GET", query, tenant["auditor"])
        assert status == 200
        seen += [item["email"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted((member.email for member in tenant.members.values()), reverse=True)


async def test_bad_list_parameters_are_400(api: ApiClient, tenant: Tenant) -> None:
    for query in (
        "limit=0",
        "limit=201",
        "limit=x",
        "sort=password_hash",
        "cursor=garbage",
        "role=pilot",
        "colour=red",
    ):
        status, body, _ = await call(api, "GET", f"/api/v1/users?{query}", tenant["auditor"])
        assert status == 400, query
        assert body["code"] == "VALIDATION_ERROR"


async def test_patch_with_stale_if_match_is_412_and_current_one_succeeds(api: ApiClient, tenant: Tenant) -> None:
    path = f"/api/v1/users/{tenant['auditor'].user_id}"
    status, body, _ = await call(
        api, "PATCH", path, tenant["tenant_admin"], json={"role": "mechanic"}, headers={"If-Match": '"7"'}
    )
    assert status == 412
    assert body["code"] == "PRECONDITION_FAILED"
    status, body, _ = await call(
        api, "PATCH", path, tenant["tenant_admin"], json={"role": "mechanic"}, headers={"If-Match": '"1"'}
    )
    assert status == 200
    assert body["role"] == "mechanic" and body["version"] == 2


async def test_patch_null_fields_are_400(api: ApiClient, tenant: Tenant) -> None:
    status, body, _ = await call(
        api, "PATCH", f"/api/v1/users/{tenant['auditor'].user_id}", tenant["admin"], json={"role": None}
    )
    assert status == 400
    assert body["details"]["fields"] == {"role": "must not be null"}


async def test_delete_is_soft_and_frees_the_email(api: ApiClient, tenant: Tenant, conn: asyncpg.Connection) -> None:
    member = tenant["auditor"]
    status, body, _ = await call(api, "DELETE", f"/api/v1/users/{member.user_id}", tenant["tenant_admin"])
    assert status == 204 and body is None
    status, _, _ = await call(api, "GET", f"/api/v1/users/{member.user_id}", tenant["tenant_admin"])
    assert status == 404
    assert await conn.fetchval("SELECT deleted_at IS NOT NULL FROM users WHERE id = $1", member.user_id)
    status, _, _ = await call(
        api, "POST", "/api/v1/users", tenant["tenant_admin"], json={**_new_user("auditor"), "email": member.email}
    )
    assert status == 201
    actions = await conn.fetch(
        "SELECT action::text FROM audit_logs WHERE entity_id = $1 ORDER BY timestamp", member.user_id
    )
    assert [row["action"] for row in actions] == ["delete"]


async def test_nobody_deletes_their_own_account(api: ApiClient, tenant: Tenant) -> None:
    status, _body, _ = await call(
        api, "DELETE", f"/api/v1/users/{tenant['tenant_admin'].user_id}", tenant["tenant_admin"]
    )
    assert status == 409


async def test_tenant_admin_cannot_create_promote_change_or_delete_an_admin(api: ApiClient, tenant: Tenant) -> None:
    tenant_admin, admin_path = tenant["tenant_admin"], f"/api/v1/users/{tenant['admin'].user_id}"
    checks = [
        await call(api, "POST", "/api/v1/users", tenant_admin, json=_new_user("admin")),
        await call(api, "PATCH", f"/api/v1/users/{tenant['mechanic'].user_id}", tenant_admin, json={"role": "admin"}),
        await call(api, "PATCH", admin_path, tenant_admin, json={"password": "reset-by-tenant-admin"}),
        await call(api, "DELETE", admin_path, tenant_admin),
    ]
    assert [status for status, _, _ in checks] == [403, 403, 403, 403]
    assert all(body["code"] == "FORBIDDEN" for _, body, _ in checks)


async def test_password_change_is_audited_without_the_password(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    status, _, _ = await call(
        api,
        "PATCH",
        f"/api/v1/users/{tenant['mechanic'].user_id}",
        tenant["admin"],
        json={"password": "secret-new-password"},
    )
    assert status == 200
    details = await conn.fetchval(
        "SELECT details FROM audit_logs WHERE entity_id = $1 AND action = 'update'", tenant["mechanic"].user_id
    )
    assert details["changes"] == {"password": "changed"}
    assert "secret-new-password" not in str(details)
