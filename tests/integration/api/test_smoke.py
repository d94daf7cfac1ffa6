"""A first walk through the API: log in, list, 404 for another organization's user."""

from __future__ import annotations

from tests.api_support import TEST_PASSWORD, Tenant, call
from tests.clients import ApiClient


async def test_login_then_list_users_of_own_organization(api: ApiClient, tenant: Tenant, other_tenant: Tenant) -> None:
    status, body, _ = await call(
        api, "POST", "/api/v1/auth/login", json={"email": tenant["scheduler"].email, "password": TEST_PASSWORD}
    )
    assert status == 200, body
    headers = {"Authorization": f"Bearer {body['access_token']}"}
    status, listing, _ = await call(api, "GET", "/api/v1/users?limit=200", headers=headers)
    assert status == 200
    ids = {item["id"] for item in listing["items"]}
    assert str(tenant["mechanic"].user_id) in ids
    assert str(other_tenant["mechanic"].user_id) not in ids
    status, error, _ = await call(api, "GET", f"/api/v1/users/{other_tenant['mechanic'].user_id}", headers=headers)
    assert status == 404
    assert error["code"] == "NOT_FOUND"
