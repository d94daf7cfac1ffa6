"""Organizations and policies: admin-only create (idempotent) and list, own-org reads and updates, policy ranges."""

from __future__ import annotations

import uuid

import asyncpg

from amss.infra.postgres.sql import fetch_one
from tests.api_support import Tenant, call
from tests.clients import ApiClient


async def test_admin_creates_an_organization_with_the_default_policy(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    name = f"Airline {uuid.uuid4().hex[:6]}"
    status, body, headers = await call(api, "POST", "/api/v1/organizations", tenant["admin"], json={"name": name})
    assert status == 201
    assert headers["Location"] == f"/api/v1/organizations/{body['id']}"
    status, policy, _ = await call(api, "GET", f"/api/v1/organizations/{body['id']}/policy", tenant["admin"])
    assert status == 200
    assert policy["max_webhook_attempts"] == 10
    assert policy["webhook_replay_window_seconds"] == 300
    assert policy["api_rate_limit_per_min"] == 100
    assert policy["api_key_rate_limit_per_min"] == 10
    audit = await fetch_one(conn, "SELECT user_id, details FROM audit_logs WHERE entity_id = $1", uuid.UUID(body["id"]))
    # the admin belongs to another organization: the row names them in details.actor
    assert audit["user_id"] is None
    assert audit["details"]["actor"] == {
        "user_id": str(tenant["admin"].user_id),
        "org_id": str(tenant.org_id),
        "role": "admin",
    }


async def test_duplicate_organization_name_is_409(api: ApiClient, tenant: Tenant) -> None:
    name = f"Twice {uuid.uuid4().hex[:6]}"
    assert (await call(api, "POST", "/api/v1/organizations", tenant["admin"], json={"name": name}))[0] == 201
    status, body, _ = await call(api, "POST", "/api/v1/organizations", tenant["admin"], json={"name": name})
    assert status == 409
    assert body["code"] == "CONFLICT"


async def test_non_admins_read_only_their_own_organization(
    api: ApiClient, tenant: Tenant, other_tenant: Tenant
) -> None:
    status, body, _ = await call(api, "GET", f"/api/v1/organizations/{tenant.org_id}", tenant["mechanic"])
    assert status == 200 and body["id"] == str(tenant.org_id)
    status, body, _ = await call(api, "GET", f"/api/v1/organizations/{other_tenant.org_id}", tenant["mechanic"])
    assert status == 404
    status, body, _ = await call(api, "GET", f"/api/v1/organizations/{other_tenant.org_id}", tenant["admin"])
    assert status == 200


async def test_tenant_admin_renames_own_organization_with_audit(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    name = f"Renamed {uuid.uuid4().hex[:6]}"
    status, body, _ = await call(
        api,
        "PATCH",
        f"/api/v1/organizations/{tenant.org_id}",
        tenant["tenant_admin"],
        json={"name": name},
        headers={"If-Match": "1"},
    )
    assert status == 200
    assert body["name"] == name and body["version"] == 2
    row = await fetch_one(
        conn,
        "SELECT user_id, entity_version, details FROM audit_logs WHERE entity_id = $1 AND action = 'update'",
        tenant.org_id,
    )
    assert row["user_id"] == tenant["tenant_admin"].user_id
    assert row["entity_version"] == 2
    assert row["details"]["changes"] == {"name": name}


async def test_policy_updates_are_validated_and_versioned(api: ApiClient, tenant: Tenant) -> None:
    path = f"/api/v1/organizations/{tenant.org_id}/policy"
    bad_bodies = [
        {"max_webhook_attempts": 0},
        {"max_webhook_attempts": 101},
        {"webhook_replay_window_seconds": 0},
        {"api_rate_limit_per_min": 0},
        {"retention_interval": "PT1H"},
        {"rate_limits": {"reads": 10}},
        {"rate_limits": {"read": 0}},
        {"max_webhook_attempts": "5"},
        {"max_webhook_attempts": None},
        {"surprise": 1},
    ]
    for body in bad_bodies:
        status, error, _ = await call(api, "PATCH", path, tenant["tenant_admin"], json=body)
        assert status == 400, body
        assert error["code"] == "VALIDATION_ERROR"
    status, policy, _ = await call(
        api,
        "PATCH",
        path,
        tenant["tenant_admin"],
        json={"retention_interval": "P90D", "max_webhook_attempts": 5, "rate_limits": {"read": 500}},
    )
    assert status == 200
    assert policy["retention_interval"] == "P90D"
    assert policy["max_webhook_attempts"] == 5
    assert policy["rate_limits"] == {"read": 500}
    assert policy["version"] == 2


async def test_auditor_reads_but_cannot_change_the_policy(api: ApiClient, tenant: Tenant) -> None:
    path = f"/api/v1/organizations/{tenant.org_id}/policy"
    assert (await call(api, "GET", path, tenant["auditor"]))[0] == 200
    assert (await call(api, "PATCH", path, tenant["auditor"], json={"max_webhook_attempts": 3}))[0] == 403
    assert (await call(api, "GET", path, tenant["scheduler"]))[0] == 403


async def test_list_organizations_pages_with_cursor(api: ApiClient, tenant: Tenant) -> None:
    names = set()
    for index in range(3):
        name = f"Paged {uuid.uuid4().hex[:6]} {index}"
        names.add(name)
        await call(api, "POST", "/api/v1/organizations", tenant["admin"], json={"name": name})
    collected: list[str] = []
    cursor = None
    for _ in range(100):
        query = "/api/v1/organizations?limit=2&sort=-created_at" + (f"&cursor={cursor}" if cursor else "")
        status, page, _ = await call(api, "GET", query, tenant["admin"])
        assert status == 200
        collected += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None or names <= set(collected):
            break
    assert names <= set(collected)
    assert len(collected) == len(set(collected))
