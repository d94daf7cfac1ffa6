"""Authentication: login, every kind of bad token, JWKS, refresh rotation, reuse detection, logout."""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import jwt
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from amss.api.rest.middlewares import TOKEN_SERVICE
from amss.auth.keys import generate_key_pair
from amss.auth.tokens import TokenService
from amss.bootstrap.server import init_server_app
from amss.config import Settings
from amss.domain.enums import Role
from tests.api_support import TEST_PASSWORD, Member, Tenant, call
from tests.clients import ApiClient
from tests.integration.factories import make_org, make_user


async def _login(
    api: ApiClient, email: str, password: str = TEST_PASSWORD, **extra: object
) -> tuple[int, dict[str, Any]]:
    status, body, _ = await call(
        api, "POST", "/api/v1/auth/login", json={"email": email, "password": password, **extra}
    )
    return status, body


async def test_login_returns_a_bearer_pair_and_records_last_login(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    member = tenant["mechanic"]
    status, body = await _login(api, member.email)
    assert status == 200
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert len(base64.urlsafe_b64decode(body["refresh_token"] + "==")) == 32
    assert await conn.fetchval("SELECT last_login IS NOT NULL FROM users WHERE id = $1", member.user_id)
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == str(member.user_id)
    assert claims["org_id"] == str(tenant.org_id)
    assert claims["role"] == "mechanic"
    assert {"exp", "iat", "jti", "iss", "scopes"} <= set(claims)
    assert jwt.get_unverified_header(body["access_token"])["kid"]


async def test_login_is_case_insensitive_on_email(api: ApiClient, tenant: Tenant) -> None:
    status, _ = await _login(api, tenant["auditor"].email.upper())
    assert status == 200


async def test_unknown_email_and_wrong_password_get_the_same_401(api: ApiClient, tenant: Tenant) -> None:
    wrong_status, wrong = await _login(api, tenant["mechanic"].email, "not-the-password")
    unknown_status, unknown = await _login(api, f"nobody-{uuid.uuid4().hex[:6]}@example.test", "not-the-password")
    assert wrong_status == unknown_status == 401
    assert wrong["code"] == unknown["code"] == "UNAUTHORIZED"
    assert wrong["error"] == unknown["error"]
    assert set(wrong) == set(unknown)


async def test_refresh_tokens_are_stored_only_as_sha256(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    _, body = await _login(api, tenant["scheduler"].email)
    import hashlib

    digest = hashlib.sha256(body["refresh_token"].encode()).digest()
    row = await conn.fetchrow("SELECT token_hash FROM refresh_tokens WHERE token_hash = $1", digest)
    assert row is not None
    raw = body["refresh_token"].encode()
    assert await conn.fetchval("SELECT count(*) FROM refresh_tokens WHERE position($1 in token_hash) > 0", raw) == 0


async def test_an_email_in_two_organizations_needs_org_id(
    api: ApiClient, conn: asyncpg.Connection, test_password_hash: str
) -> None:
    email = f"twin-{uuid.uuid4().hex[:6]}@example.test"
    org_a, org_b = await make_org(conn), await make_org(conn)
    for org in (org_a, org_b):
        user_id = await make_user(conn, org, "mechanic", email)
        await conn.execute("UPDATE users SET password_hash = $1 WHERE id = $2", test_password_hash, user_id)
    status, body = await _login(api, email)
    assert status == 400
    assert body["details"]["fields"]["org_id"].startswith("required")
    status, body = await _login(api, email, org_id=str(org_b))
    assert status == 200
    assert jwt.decode(body["access_token"], options={"verify_signature": False})["org_id"] == str(org_b)
    # without the right password nothing reveals that the e-mail exists twice
    status, body = await _login(api, email, "wrong-password-here")
    assert status == 401


async def test_jwks_publishes_the_key_that_verifies_tokens(api: ApiClient, tenant: Tenant) -> None:
    status, jwks, _ = await call(api, "GET", "/.well-known/jwks.json")
    assert status == 200
    [key] = jwks["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256"
    token = tenant["auditor"].token
    assert jwt.get_unverified_header(token)["kid"] == key["kid"]
    public_key = jwt.PyJWK(key).key
    assert jwt.decode(token, public_key, algorithms=["RS256"], issuer="amss")["sub"] == str(tenant["auditor"].user_id)


def _forged_tokens(app: web.Application, member: Member, org_id: uuid.UUID, settings: Settings) -> dict[str, str]:
    service: TokenService = app[TOKEN_SERVICE]
    now = datetime.now(UTC)
    good = member.token
    header, payload, signature = good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    tampered_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    public_pem = settings.jwt_public_key_pem or ""  # the server's own public key, used as an HMAC secret by an attacker
    private_pem = settings.jwt_private_key_pem or ""
    base_claims = {
        "sub": str(member.user_id),
        "org_id": str(org_id),
        "role": "admin",
        "scopes": [],
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "jti": uuid.uuid4().hex,
        "iss": "amss",
    }
    other_key = generate_key_pair()
    unsigned = (
        base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT", "kid": service.key_id}).encode())
        .rstrip(b"=")
        .decode()
        + "."
        + base64.urlsafe_b64encode(json.dumps(base_claims).encode()).rstrip(b"=").decode()
        + "."
    )
    return {
        "expired": service.issue_access(member.user_id, org_id, Role.MECHANIC, now - timedelta(hours=1)).token,
        "tampered": f"{header}.{tampered_payload}.{signature}",
        "wrong_key": jwt.encode(base_claims, other_key.private_pem, algorithm="RS256", headers={"kid": service.key_id}),
        "alg_none": unsigned,
        "hs256_with_public_key": _hs256(base_claims, public_pem, service.key_id),
        "garbage": "not-a-jwt",
        "wrong_issuer": jwt.encode(
            {**base_claims, "iss": "evil"}, private_pem, algorithm="RS256", headers={"kid": service.key_id}
        ),
        "missing_claims": jwt.encode(
            {"sub": str(member.user_id), "exp": base_claims["exp"]},
            private_pem,
            algorithm="RS256",
            headers={"kid": service.key_id},
        ),
    }


def _hs256(claims: dict[str, Any], secret: str, kid: str) -> str:
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = (
        b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode()) + "." + b64(json.dumps(claims).encode())
    )
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64(signature)


@pytest.mark.parametrize(
    "kind",
    [
        "expired",
        "tampered",
        "wrong_key",
        "alg_none",
        "hs256_with_public_key",
        "garbage",
        "wrong_issuer",
        "missing_claims",
    ],
)
async def test_bad_access_tokens_get_401(
    api: ApiClient, api_app: web.Application, api_settings: Settings, tenant: Tenant, kind: str
) -> None:
    token = _forged_tokens(api_app, tenant["mechanic"], tenant.org_id, api_settings)[kind]
    status, body, headers = await call(api, "GET", "/api/v1/users", headers={"Authorization": f"Bearer {token}"})
    assert status == 401, kind
    assert body["code"] == "UNAUTHORIZED"
    assert body["request_id"] == headers["X-Request-ID"]


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc"])
async def test_missing_or_malformed_authorization_gets_401(api: ApiClient, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    status, body, _ = await call(api, "GET", "/api/v1/users", headers=headers)
    assert status == 401
    assert body["code"] == "UNAUTHORIZED"


async def test_refresh_rotates_and_the_spent_token_cannot_be_used_again(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    _, first = await _login(api, tenant["scheduler"].email)
    status, second, headers = await call(
        api, "POST", "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert status == 200
    assert headers["Cache-Control"] == "no-store"
    assert second["refresh_token"] != first["refresh_token"]
    status, _, _ = await call(
        api, "GET", "/api/v1/users", headers={"Authorization": f"Bearer {second['access_token']}"}
    )
    assert status == 200
    # rotation does not extend the family's expiry, counted from the login
    expiries = await conn.fetch(
        "SELECT expires_at FROM refresh_tokens WHERE user_id = $1 ORDER BY issued_at", tenant["scheduler"].user_id
    )
    assert len({row["expires_at"] for row in expiries}) == 1
    expected = datetime.now(UTC) + timedelta(days=7)
    assert abs((expiries[0]["expires_at"] - expected).total_seconds()) < 60


async def test_reusing_a_spent_refresh_token_revokes_the_whole_family(
    api: ApiClient, tenant: Tenant, conn: asyncpg.Connection
) -> None:
    import hashlib

    _, first = await _login(api, tenant["scheduler"].email)
    _, second, _ = await call(api, "POST", "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    # past REFRESH_REUSE_GRACE (10 s): within it a spent token is a retry (tests/integration/api/test_refresh_grace.py)
    await conn.execute(
        "UPDATE refresh_tokens SET used_at = used_at - interval '11 seconds' WHERE token_hash = $1",
        hashlib.sha256(first["refresh_token"].encode()).digest(),
    )
    status, body, _ = await call(api, "POST", "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert status == 401
    assert "reuse" in body["error"]
    status, _, _ = await call(api, "POST", "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert status == 401


async def test_without_a_grace_two_concurrent_refreshes_of_one_token_cannot_both_succeed(
    api_settings: Settings, tenant: Tenant
) -> None:
    """REFRESH_REUSE_GRACE=0: one use per token, strictly (with the default grace both succeed)."""
    api = TestClient(TestServer(init_server_app(api_settings.model_copy(update={"refresh_reuse_grace": timedelta(0)}))))
    await api.start_server()
    try:
        _, first = await _login(api, tenant["mechanic"].email)
        results = await asyncio.gather(
            *(
                call(api, "POST", "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
                for _ in range(2)
            )
        )
    finally:
        await api.close()
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200, 401]


async def test_logout_revokes_the_family_and_is_idempotent(api: ApiClient, tenant: Tenant) -> None:
    _, first = await _login(api, tenant["auditor"].email)
    _, second, _ = await call(api, "POST", "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    status, body, _ = await call(api, "POST", "/api/v1/auth/logout", json={"refresh_token": second["refresh_token"]})
    assert status == 204 and body is None
    status, _, _ = await call(api, "POST", "/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert status == 401
    status, _, _ = await call(api, "POST", "/api/v1/auth/logout", json={"refresh_token": "never-issued"})
    assert status == 204


async def test_refresh_for_a_deleted_user_is_401(api: ApiClient, tenant: Tenant) -> None:
    _, pair = await _login(api, tenant["mechanic"].email)
    status, _, _ = await call(api, "DELETE", f"/api/v1/users/{tenant['mechanic'].user_id}", tenant["tenant_admin"])
    assert status == 204
    status, _, _ = await call(api, "POST", "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert status == 401
    status, _ = await _login(api, tenant["mechanic"].email)
    assert status == 401


async def test_demotion_revokes_refresh_tokens(api: ApiClient, tenant: Tenant) -> None:
    _, pair = await _login(api, tenant["scheduler"].email)
    status, _, _ = await call(
        api, "PATCH", f"/api/v1/users/{tenant['scheduler'].user_id}", tenant["tenant_admin"], json={"role": "auditor"}
    )
    assert status == 200
    status, _, _ = await call(api, "POST", "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert status == 401


async def test_a_promotion_shows_in_the_next_refreshed_access_token(api: ApiClient, tenant: Tenant) -> None:
    _, pair = await _login(api, tenant["mechanic"].email)
    status, _, _ = await call(
        api, "PATCH", f"/api/v1/users/{tenant['mechanic'].user_id}", tenant["admin"], json={"role": "admin"}
    )
    assert status == 200
    status, refreshed, _ = await call(
        api, "POST", "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert status == 200
    assert jwt.decode(refreshed["access_token"], options={"verify_signature": False})["role"] == "admin"


async def test_password_change_revokes_refresh_tokens(api: ApiClient, tenant: Tenant) -> None:
    _, pair = await _login(api, tenant["auditor"].email)
    status, _, _ = await call(
        api,
        "PATCH",
        f"/api/v1/users/{tenant['auditor'].user_id}",
        tenant["tenant_admin"],
        json={"password": "a-brand-new-password"},
    )
    assert status == 200
    status, _, _ = await call(api, "POST", "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert status == 401
    status, _ = await _login(api, tenant["auditor"].email, "a-brand-new-password")
    assert status == 200


async def test_an_expired_refresh_token_is_401(api: ApiClient, tenant: Tenant, conn: asyncpg.Connection) -> None:
    _, pair = await _login(api, tenant["auditor"].email)
    import hashlib

    await conn.execute(
        "UPDATE refresh_tokens SET issued_at = now() - interval '8 days', expires_at = now() - interval '1 day'"
        " WHERE token_hash = $1",
        hashlib.sha256(pair["refresh_token"].encode()).digest(),
    )
    status, body, _ = await call(api, "POST", "/api/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert status == 401
    assert "expired" in body["error"]
