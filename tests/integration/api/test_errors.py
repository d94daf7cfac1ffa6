"""Every failure answers in the one documented error shape, with the right status and code."""

from __future__ import annotations

import io
import ipaddress
import uuid
from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from amss.bootstrap.server import init_server_app
from amss.config import Settings
from tests.api_support import Tenant, call
from tests.clients import ApiClient


def _assert_shape(body: dict[str, Any], headers: object, code: str) -> None:
    assert body["code"] == code
    assert isinstance(body["error"], str) and body["error"]
    assert body["request_id"] == headers["X-Request-ID"]  # type: ignore[index]
    assert set(body) <= {"error", "code", "request_id", "details"}


async def test_unknown_route_is_404_in_the_error_shape(api: ApiClient) -> None:
    status, body, headers = await call(api, "GET", "/api/v1/no-such-thing")
    assert status == 404
    _assert_shape(body, headers, "NOT_FOUND")


async def test_wrong_method_is_405_with_allow(api: ApiClient) -> None:
    status, body, headers = await call(api, "PUT", "/api/v1/auth/login", json={})
    assert status == 405
    _assert_shape(body, headers, "METHOD_NOT_ALLOWED")
    assert headers["Allow"] == "POST"


async def test_malformed_json_is_400(api: ApiClient, tenant: Tenant) -> None:
    status, body, headers = await call(
        api, "POST", "/api/v1/users", tenant["admin"], data=b'{"email": ', headers={"Content-Type": "application/json"}
    )
    assert status == 400
    _assert_shape(body, headers, "VALIDATION_ERROR")
    assert "malformed JSON" in body["error"]


async def test_empty_body_is_400(api: ApiClient, tenant: Tenant) -> None:
    status, body, _ = await call(
        api, "POST", "/api/v1/users", tenant["admin"], data=b"", headers={"Content-Type": "application/json"}
    )
    assert status == 400
    assert body["code"] == "VALIDATION_ERROR"


async def test_unknown_field_and_wrong_type_are_400_naming_the_field(api: ApiClient, tenant: Tenant) -> None:
    status, body, _ = await call(
        api,
        "POST",
        "/api/v1/users",
        tenant["admin"],
        json={"email": "x@example.test", "role": 5, "password": "long-enough-pass", "colour": "red"},
    )
    assert status == 400
    assert body["details"]["fields"]["colour"] == "unknown field"
    assert "role" in body["details"]["fields"]


async def test_a_json_array_is_not_an_object(api: ApiClient, tenant: Tenant) -> None:
    status, body, _ = await call(api, "POST", "/api/v1/users", tenant["admin"], json=[1, 2])
    assert status == 400
    assert body["code"] == "VALIDATION_ERROR"


async def test_non_json_body_is_415(api: ApiClient, tenant: Tenant) -> None:
    status, body, headers = await call(
        api, "POST", "/api/v1/users", tenant["admin"], data=b"email=x", headers={"Content-Type": "text/plain"}
    )
    assert status == 415
    _assert_shape(body, headers, "UNSUPPORTED_MEDIA_TYPE")


async def test_oversized_body_is_413(api: ApiClient, tenant: Tenant) -> None:
    huge = io.BytesIO(b'{"email": "' + b"x" * (2 << 20) + b'"}')
    status, body, headers = await call(
        api, "POST", "/api/v1/users", tenant["admin"], data=huge, headers={"Content-Type": "application/json"}
    )
    assert status == 413
    _assert_shape(body, headers, "PAYLOAD_TOO_LARGE")


async def test_malformed_path_id_is_404(api: ApiClient, tenant: Tenant) -> None:
    status, body, _ = await call(api, "GET", "/api/v1/users/not-a-uuid", tenant["admin"])
    assert status == 404
    assert body["code"] == "NOT_FOUND"


async def test_401_carries_www_authenticate(api: ApiClient) -> None:
    status, _, headers = await call(api, "GET", "/api/v1/users")
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")


async def test_unhandled_exception_is_500_revealing_nothing(api_settings: Settings) -> None:
    app = init_server_app(api_settings)

    async def explode(_: web.Request) -> web.Response:
        raise RuntimeError("password=hunter2 at /srv/secret/path.py")

    app.router.add_get("/explode", explode)
    client = TestClient(TestServer(app))
    await client.start_server()
    try:
        status, body, headers = await call(client, "GET", "/explode")
    finally:
        await client.close()
    assert status == 500
    _assert_shape(body, headers, "INTERNAL")
    assert "hunter2" not in str(body) and "secret" not in str(body)


async def test_a_valid_client_request_id_is_echoed_and_an_invalid_one_replaced(api: ApiClient) -> None:
    mine = str(uuid.uuid4())
    _, body, headers = await call(api, "GET", "/api/v1/users", headers={"X-Request-ID": mine})
    assert headers["X-Request-ID"] == mine == body["request_id"]
    _, body, headers = await call(api, "GET", "/health", headers={"X-Request-ID": "<script>"})
    replaced = headers["X-Request-ID"]
    assert replaced != "<script>"
    uuid.UUID(replaced)


async def test_audit_rows_record_the_socket_peer_unless_the_proxy_is_trusted(
    api_settings: Settings, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    async def create_user_via(settings: Settings) -> uuid.UUID:
        client = TestClient(TestServer(init_server_app(settings)))
        await client.start_server()
        try:
            status, body, _ = await call(
                client,
                "POST",
                "/api/v1/users",
                tenant["tenant_admin"],
                json={
                    "email": f"ip-{uuid.uuid4().hex[:6]}@example.test",
                    "role": "auditor",
                    "password": "long-enough-pw",
                },
                headers={"X-Forwarded-For": "203.0.113.9, 127.0.0.1", "User-Agent": "ops-console/1.0"},
            )
        finally:
            await client.close()
        assert status == 201
        return uuid.UUID(body["id"])

    untrusted = await create_user_via(api_settings)
    trusted = await create_user_via(
        api_settings.model_copy(update={"trusted_proxies": [ipaddress.ip_network("127.0.0.0/8")]})
    )
    rows = {
        row["entity_id"]: row
        for row in await conn.fetch(
            "SELECT entity_id, ip_address, user_agent, request_id FROM audit_logs WHERE entity_id = ANY($1)",
            [untrusted, trusted],
        )
    }
    assert rows[untrusted]["ip_address"] == "127.0.0.1"
    assert rows[trusted]["ip_address"] == "203.0.113.9"
    assert rows[trusted]["user_agent"] == "ops-console/1.0"
    assert rows[trusted]["request_id"] is not None
