"""GET /api/v1/openapi.json: public, complete for the running app, and true to what the API answers."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from aiohttp import web

from amss.api.rest.openapi import OPENAPI_PATH
from amss.api.rest.routing import ROUTE_SPECS
from amss.bootstrap.server import init_server_app
from amss.config import Settings
from tests.api_support import TEST_PASSWORD, Member, Tenant, call
from tests.clients import ApiClient
from tests.openapi_support import (
    documented_operations,
    operation_named,
    routed_operations,
    schema_problems,
    success_schema,
)


@pytest.fixture
async def api_app(api_settings: Settings) -> web.Application:
    return init_server_app(api_settings)


@pytest.fixture
async def document(api: ApiClient) -> dict[str, Any]:
    status, body, _ = await call(api, "GET", OPENAPI_PATH)
    assert status == 200
    return dict(body)


async def test_openapi_json_is_public_json_and_the_same_on_every_request(api: ApiClient) -> None:
    bodies = []
    for _ in range(2):
        async with api.get(OPENAPI_PATH) as response:
            assert response.status == 200
            assert response.content_type == "application/json"
            assert uuid.UUID(response.headers["X-Request-ID"])
            bodies.append(await response.read())
    assert bodies[0] == bodies[1]
    assert json.loads(bodies[0])["openapi"] == "3.1.0"


async def test_served_document_covers_exactly_the_routes_of_the_running_app(
    api_app: web.Application, document: dict[str, Any]
) -> None:
    assert routed_operations(api_app) == documented_operations(document)
    for name, spec in api_app[ROUTE_SPECS].items():
        assert operation_named(document, name)["summary"] == spec.summary


async def test_documented_probe_schemas_match_the_probes(api: ApiClient, document: dict[str, Any]) -> None:
    for path in ("/health", "/ready"):
        status, body, _ = await call(api, "GET", path)
        assert status == 200
        schema = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema_problems(document, schema, body) == []
    async with api.get("/metrics") as response:
        assert response.status == 200
        assert response.content_type in document["paths"]["/metrics"]["get"]["responses"]["200"]["content"]


def _assert_matches(app: web.Application, document: dict[str, Any], name: str, status: int, body: Any) -> None:
    """The body agrees with the route's pydantic model and with the document's schema for `status`."""
    spec = app[ROUTE_SPECS][name]
    assert status == spec.status, (name, status, body)
    assert schema_problems(document, success_schema(document, name, status), body) == [], name
    assert spec.response_model is not None
    items = body["items"] if spec.response_is_list else [body]
    assert items, f"{name}: nothing to check"
    for item in items:
        spec.response_model.model_validate_json(json.dumps(item), strict=True)
        assert set(item) == set(spec.response_model.model_fields), name


async def test_real_responses_match_their_documented_models(
    api: ApiClient, api_app: web.Application, document: dict[str, Any], tenant: Tenant
) -> None:
    admin, tenant_admin, mechanic = tenant["admin"], tenant["tenant_admin"], tenant["mechanic"]
    org = f"/api/v1/organizations/{tenant.org_id}"

    async def check(name: str, method: str, path: str, member: Member | None, **kwargs: Any) -> Any:
        status, body, headers = await call(api, method, path, member, **kwargs)
        _assert_matches(api_app, document, name, status, body)
        return body, headers

    await check(
        "auth.login", "POST", "/api/v1/auth/login", None, json={"email": mechanic.email, "password": TEST_PASSWORD}
    )
    await check("users.get", "GET", f"/api/v1/users/{mechanic.user_id}", mechanic)
    await check("users.list", "GET", "/api/v1/users?limit=2", tenant_admin)
    created, headers = await check(
        "users.create",
        "POST",
        "/api/v1/users",
        tenant_admin,
        json={"email": f"openapi-{uuid.uuid4().hex[:8]}@example.test", "role": "auditor", "password": TEST_PASSWORD},
    )
    assert headers["Location"] == f"/api/v1/users/{created['id']}"
    await check(
        "users.update",
        "PATCH",
        f"/api/v1/users/{created['id']}",
        tenant_admin,
        json={"role": "mechanic"},
        headers={"If-Match": f'"{created["version"]}"'},
    )
    await check("organizations.get", "GET", org, mechanic)
    await check("organizations.list", "GET", "/api/v1/organizations?limit=3", admin)
    await check("organizations.policy.get", "GET", f"{org}/policy", tenant_admin)
    await check("organizations.policy.update", "PATCH", f"{org}/policy", tenant_admin, json={"max_webhook_attempts": 7})
    status, body, _ = await call(api, "DELETE", f"/api/v1/users/{created['id']}", tenant_admin)
    assert (status, body) == (204, None)
    assert "content" not in operation_named(document, "users.delete")["responses"]["204"]


@pytest.mark.parametrize(
    ("name", "method", "path", "authenticated", "status"),
    [
        ("users.get", "GET", f"/api/v1/users/{uuid.UUID(int=1)}", True, 404),
        ("users.get", "GET", f"/api/v1/users/{uuid.UUID(int=1)}", False, 401),
        ("users.list", "GET", "/api/v1/users?limit=0", True, 400),
        ("users.create", "POST", "/api/v1/users", True, 415),
    ],
)
async def test_real_errors_match_the_documented_error_schema(
    api: ApiClient,
    document: dict[str, Any],
    tenant: Tenant,
    name: str,
    method: str,
    path: str,
    authenticated: bool,
    status: int,
) -> None:
    member = tenant["tenant_admin"] if authenticated else None
    answered, body, _ = await call(api, method, path, member, data="not json" if method == "POST" else None)
    assert answered == status, body
    response = operation_named(document, name)["responses"][str(status)]
    schema = document["components"]["responses"][response["$ref"].rsplit("/", 1)[-1]]["content"]
    assert schema_problems(document, schema["application/json"]["schema"], body) == []
