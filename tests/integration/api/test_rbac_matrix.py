"""The RBAC matrix: every route with a permission, called by every role, against docs/api.md "Roles".

The (route, role) pairs come from the handler modules' ROUTES; one test checks that the running
application registers exactly those routes, so a route added anywhere else fails it, and a route
without a sample request in route_samples.py fails its own cases. A refused request must be
403 FORBIDDEN and change nothing; an allowed one must succeed. Then the rules finer than the
table: admin protection in users, own-organization-only in organizations, self-deletion.
"""

from __future__ import annotations

import asyncpg
import pytest
from aiohttp import web

from amss.api.rest.routing import ROUTE_SPECS
from amss.auth.rbac import PERMISSIONS, Action, Resource, is_allowed
from amss.domain.enums import Role
from tests.api_support import TEST_PASSWORD, Tenant, call
from tests.clients import ApiClient
from tests.integration.api.route_samples import (
    PUBLIC_ROUTES,
    REFUSED_BY_RULE,
    SampleContext,
    check_matches,
    code_of,
    declared_routes,
    fresh_email,
    may_use,
    raise_rate_limits,
    sample_for,
)
from tests.integration.factories import make_user, short_id

DECLARED = declared_routes()
GUARDED = sorted(name for name, spec in DECLARED.items() if spec.permission is not None)
MATRIX = [(name, role) for name in GUARDED for role in Role]

# docs/api.md "Roles", transcribed again independently of amss/auth/rbac.py: resource -> role -> letters.
# R read/list, W create/update/delete, T transitions, S sign-off, X export, B/A basic/advanced reports.
API_MD_ROLES: dict[str, dict[str, str]] = {
    "organizations": {"admin": "RW", "tenant_admin": "RW", "scheduler": "R", "mechanic": "R", "auditor": "R"},
    "users": {"admin": "RW", "tenant_admin": "RW", "scheduler": "R", "mechanic": "R", "auditor": "R"},
    "org_policy": {"admin": "RW", "tenant_admin": "RW", "scheduler": "", "mechanic": "", "auditor": "R"},
    "aircraft": {"admin": "RW", "tenant_admin": "R", "scheduler": "RW", "mechanic": "RW", "auditor": "R"},
    "maintenance_programs": {"admin": "RW", "tenant_admin": "", "scheduler": "RW", "mechanic": "", "auditor": "R"},
    "maintenance_tasks": {"admin": "RWT", "tenant_admin": "R", "scheduler": "RWT", "mechanic": "RT", "auditor": "R"},
    "parts": {"admin": "RW", "tenant_admin": "R", "scheduler": "RW", "mechanic": "RW", "auditor": "R"},
    "part_reservations": {"admin": "RWT", "tenant_admin": "R", "scheduler": "RWT", "mechanic": "RWT", "auditor": "R"},
    "compliance_items": {"admin": "RWS", "tenant_admin": "", "scheduler": "R", "mechanic": "RWS", "auditor": "R"},
    "audit_logs": {"admin": "RX", "tenant_admin": "R", "scheduler": "R", "mechanic": "R", "auditor": "RX"},
    "reports": {"admin": "BA", "tenant_admin": "B", "scheduler": "B", "mechanic": "B", "auditor": "BA"},
    "imports": {"admin": "RW", "tenant_admin": "RW", "scheduler": "RW", "mechanic": "", "auditor": "R"},
    "webhooks": {"admin": "RW", "tenant_admin": "RW", "scheduler": "", "mechanic": "", "auditor": ""},
    "commands": {"admin": "R", "tenant_admin": "R", "scheduler": "R", "mechanic": "R", "auditor": "R"},
}


@pytest.fixture
async def home(conn: asyncpg.Connection, tenant: Tenant) -> Tenant:
    await raise_rate_limits(conn, tenant.org_id)
    return tenant


@pytest.fixture
async def elsewhere(conn: asyncpg.Connection, other_tenant: Tenant) -> Tenant:
    await raise_rate_limits(conn, other_tenant.org_id)
    return other_tenant


# --- the table itself ---------------------------------------------------------------------------


def test_rbac_table_matches_api_md() -> None:
    assert {resource.value for resource in PERMISSIONS} == set(API_MD_ROLES)
    for resource, row in PERMISSIONS.items():
        assert set(row) == set(Role), f"{resource}: roles {sorted(row)}"
        for role in Role:
            letters = API_MD_ROLES[resource.value][role.value]
            assert {action.value for action in row[role]} == set(letters), f"{resource.value}/{role.value}"
            for action in Action:
                assert is_allowed(role, resource, action) is (action.value in letters), (resource, role, action)


async def test_application_registers_exactly_the_parametrised_routes(api_app: web.Application) -> None:
    registered = api_app[ROUTE_SPECS]
    guarded = {name for name, spec in registered.items() if spec.permission is not None}
    public = {name for name, spec in registered.items() if spec.permission is None}
    assert guarded == set(GUARDED), "routes registered but not in the matrix (or the reverse)"
    assert public <= PUBLIC_ROUTES, (
        f"unauthenticated routes not acknowledged in PUBLIC_ROUTES: {public - PUBLIC_ROUTES}"
    )
    for name in guarded:
        spec = registered[name]
        assert spec == DECLARED[name], f"{name}: registered spec differs from its handler module's"
        assert spec.permission is not None
        assert isinstance(spec.permission[0], Resource) and isinstance(spec.permission[1], Action)
    for name in GUARDED:
        sample_for(name)


# --- the matrix ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("route", "role"), MATRIX, ids=[f"{name}-{role.value}" for name, role in MATRIX])
async def test_role_on_route(
    api: ApiClient, api_app: web.Application, conn: asyncpg.Connection, home: Tenant, route: str, role: Role
) -> None:
    assert route in api_app[ROUTE_SPECS], f"{route} is declared by a handler module but not registered by init_app"
    spec = api_app[ROUTE_SPECS][route]
    member = home[role]
    request = await sample_for(route).build(SampleContext(conn, member, home))
    check_matches(spec, request)
    before = await request.snapshot(conn) if request.snapshot else None

    status, body, _ = await call(api, request.method, request.path, member, headers=request.headers, **request.body())

    after = await request.snapshot(conn) if request.snapshot else None
    if may_use(role, spec) and (route, role) not in REFUSED_BY_RULE:
        assert status not in (401, 403, 500), (status, body)
        assert status == spec.status, (status, body)
        if request.snapshot:
            assert after != before, "an allowed write changed nothing"
    else:
        assert status == 403, (status, body)
        assert code_of(body) == "FORBIDDEN", body
        assert after == before, "a refused request changed state"


# --- rules finer than the table -----------------------------------------------------------------


async def _user_row(conn: asyncpg.Connection, user_id: object) -> dict[str, object]:
    row = await conn.fetchval("SELECT to_jsonb(u) FROM users u WHERE id = $1", user_id)
    assert row is not None
    return row  # type: ignore[no-any-return]


async def test_tenant_admin_cannot_create_an_admin(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    email = fresh_email("would-be-admin")
    body = {"email": email, "role": "admin", "password": TEST_PASSWORD}
    status, error, _ = await call(api, "POST", "/api/v1/users", home["tenant_admin"], json=body)
    assert (status, code_of(error)) == (403, "FORBIDDEN"), error
    assert await conn.fetchval("SELECT count(*) FROM users WHERE email = $1::citext", email) == 0


async def test_tenant_admin_cannot_promote_to_admin(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    target = await make_user(conn, home.org_id, "mechanic")
    before = await _user_row(conn, target)
    status, error, _ = await call(api, "PATCH", f"/api/v1/users/{target}", home["tenant_admin"], json={"role": "admin"})
    assert (status, code_of(error)) == (403, "FORBIDDEN"), error
    assert await _user_row(conn, target) == before


async def test_tenant_admin_cannot_change_or_delete_an_admin(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    target = await make_user(conn, home.org_id, "admin")
    before = await _user_row(conn, target)
    for change in ({"email": fresh_email("admin")}, {"role": "mechanic"}, {"password": TEST_PASSWORD + "x"}):
        status, error, _ = await call(api, "PATCH", f"/api/v1/users/{target}", home["tenant_admin"], json=change)
        assert (status, code_of(error)) == (403, "FORBIDDEN"), (change, error)
    status, error, _ = await call(api, "DELETE", f"/api/v1/users/{target}", home["tenant_admin"])
    assert (status, code_of(error)) == (403, "FORBIDDEN"), error
    assert await _user_row(conn, target) == before


async def test_admin_may_create_promote_change_and_delete_admins(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    admin = home["admin"]
    body = {"email": fresh_email("new-admin"), "role": "admin", "password": TEST_PASSWORD}
    status, created, _ = await call(api, "POST", "/api/v1/users", admin, json=body)
    assert status == 201, created
    assert (created["role"], created["org_id"]) == ("admin", str(home.org_id))

    promoted = await make_user(conn, home.org_id, "scheduler")
    status, user, _ = await call(api, "PATCH", f"/api/v1/users/{promoted}", admin, json={"role": "admin"})
    assert status == 200, user
    assert user["role"] == "admin"
    assert (await _user_row(conn, promoted))["role"] == "admin"

    new_email = fresh_email("changed-admin")
    status, user, _ = await call(api, "PATCH", f"/api/v1/users/{created['id']}", admin, json={"email": new_email})
    assert status == 200, user
    assert user["email"] == new_email

    status, _, _ = await call(api, "DELETE", f"/api/v1/users/{created['id']}", admin)
    assert status == 204
    assert (await _user_row(conn, created["id"]))["deleted_at"] is not None


async def test_scheduler_cannot_create_users(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    email = fresh_email("by-scheduler")
    body = {"email": email, "role": "mechanic", "password": TEST_PASSWORD}
    status, error, _ = await call(api, "POST", "/api/v1/users", home["scheduler"], json=body)
    assert (status, code_of(error)) == (403, "FORBIDDEN"), error
    assert await conn.fetchval("SELECT count(*) FROM users WHERE email = $1::citext", email) == 0


@pytest.mark.parametrize("role", [Role.ADMIN, Role.TENANT_ADMIN, Role.SCHEDULER])
async def test_nobody_can_delete_themselves(api: ApiClient, conn: asyncpg.Connection, home: Tenant, role: Role) -> None:
    member = home[role]
    before = await _user_row(conn, member.user_id)
    status, error, _ = await call(api, "DELETE", f"/api/v1/users/{member.user_id}", member)
    expected = (409, "CONFLICT") if may_use(role, DECLARED["users.delete"]) else (403, "FORBIDDEN")
    assert (status, code_of(error)) == expected, error
    assert await _user_row(conn, member.user_id) == before


async def test_tenant_admin_updates_own_organization_but_not_another(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, elsewhere: Tenant
) -> None:
    name = f"own-{short_id()}"
    status, org, _ = await call(
        api, "PATCH", f"/api/v1/organizations/{home.org_id}", home["tenant_admin"], json={"name": name}
    )
    assert status == 200, org
    assert (org["id"], org["name"], org["version"]) == (str(home.org_id), name, 2)

    before = await conn.fetchval("SELECT to_jsonb(o) FROM organizations o WHERE id = $1", elsewhere.org_id)
    status, error, _ = await call(
        api, "PATCH", f"/api/v1/organizations/{elsewhere.org_id}", home["tenant_admin"], json={"name": name + "2"}
    )
    assert (status, code_of(error)) == (404, "NOT_FOUND"), error
    assert await conn.fetchval("SELECT to_jsonb(o) FROM organizations o WHERE id = $1", elsewhere.org_id) == before


async def test_scheduler_cannot_update_own_organization(api: ApiClient, conn: asyncpg.Connection, home: Tenant) -> None:
    before = await conn.fetchval("SELECT to_jsonb(o) FROM organizations o WHERE id = $1", home.org_id)
    status, error, _ = await call(
        api,
        "PATCH",
        f"/api/v1/organizations/{home.org_id}",
        home["scheduler"],
        json={"name": f"by-scheduler-{short_id()}"},
    )
    assert (status, code_of(error)) == (403, "FORBIDDEN"), error
    assert await conn.fetchval("SELECT to_jsonb(o) FROM organizations o WHERE id = $1", home.org_id) == before


async def test_listing_organizations_is_admin_only(api: ApiClient, home: Tenant, elsewhere: Tenant) -> None:
    for role in (Role.TENANT_ADMIN, Role.SCHEDULER, Role.MECHANIC, Role.AUDITOR):
        status, error, _ = await call(api, "GET", "/api/v1/organizations", home[role])
        assert (status, code_of(error)) == (403, "FORBIDDEN"), (role, error)
    status, listing, _ = await call(api, "GET", "/api/v1/organizations?limit=200&sort=-created_at", home["admin"])
    assert status == 200, listing
    ids = {item["id"] for item in listing["items"]}
    assert {str(home.org_id), str(elsewhere.org_id)} <= ids
