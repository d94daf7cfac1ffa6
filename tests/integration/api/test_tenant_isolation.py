"""Tenant isolation: org A never sees, changes or learns about org B's objects.

Driven by the registered routes and the samples of route_samples.py, like the RBAC matrix:
- every route with a path id: a member of A (each non-admin role the route allows) addressing
  B's object gets 404 NOT_FOUND, never 403 or 200, the same answer as for an id that exists
  nowhere (a stale If-Match included), and B's row is unchanged;
- every list: A's listing shows A's objects and none of B's, even with a cursor taken from B's;
- every create: an `org_id` in the body is refused as an unknown field, the object lands in A,
  B cannot read it, and B reusing A's Idempotency-Key gets no replay of A's answer.
A route that fits none of these, or lacks a sample, fails `test_every_route_is_covered`.
Then X-Org-ID: an admin may act for another existing organization; nobody else may.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import pytest
from aiohttp import web

from amss.api.rest.routing import ROUTE_SPECS, RouteSpec
from amss.domain.enums import Role
from tests.api_support import TEST_PASSWORD, Tenant, call
from tests.clients import ApiClient
from tests.integration.api.route_samples import (
    REFUSED_BY_RULE,
    SYSTEM_WIDE_ROUTES,
    SampleContext,
    check_matches,
    code_of,
    created_id,
    declared_routes,
    fresh_email,
    has_path_id,
    may_use,
    raise_rate_limits,
    sample_for,
)

DECLARED = declared_routes()
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _kind(spec: RouteSpec) -> str | None:
    """object (path id), list (GET collection), create (POST collection), or None when unclassified."""
    if spec.permission is None or spec.name in SYSTEM_WIDE_ROUTES:
        return "exempt"
    if has_path_id(spec):
        return "object"
    if spec.method == "GET" and spec.response_is_list:
        return "list"
    if spec.method == "POST":
        return "create"
    if spec.method == "GET" and spec.name.endswith(".export"):
        return "export"
    return None


def _roles(spec: RouteSpec) -> list[Role]:
    """The non-admin roles the route allows, rules included (an admin is system-wide); only the admin if none is."""
    roles: list[Role] = [
        role
        for role in Role
        if role is not Role.ADMIN and may_use(role, spec) and (spec.name, role) not in REFUSED_BY_RULE
    ]
    return roles or [Role.ADMIN]


def _cases(kind: str) -> list[tuple[str, Role]]:
    return [(name, role) for name, spec in sorted(DECLARED.items()) if _kind(spec) == kind for role in _roles(spec)]


OBJECT_CASES = _cases("object")
LIST_CASES = _cases("list")
CREATE_CASES = _cases("create")
EXPORT_CASES = _cases("export")


def _ids(cases: list[tuple[str, Role]]) -> list[str]:
    return [f"{name}-{role.value}" for name, role in cases]


def _with_query(path: str, **values: str) -> str:
    url = urlsplit(path)
    query = dict(parse_qsl(url.query))
    query.update(values)
    return urlunsplit(("", "", url.path, urlencode(query), ""))


@pytest.fixture
async def tenants(conn: asyncpg.Connection, tenant: Tenant, other_tenant: Tenant) -> tuple[Tenant, Tenant]:
    await raise_rate_limits(conn, tenant.org_id, other_tenant.org_id)
    return tenant, other_tenant


async def test_every_route_is_covered(api_app: web.Application) -> None:
    registered = api_app[ROUTE_SPECS]
    guarded = {name for name, spec in registered.items() if spec.permission is not None}
    assert guarded == {name for name, spec in DECLARED.items() if spec.permission is not None}, (
        "the app registers guarded routes the handler modules do not declare, or the reverse"
    )
    unclassified = sorted(name for name, spec in registered.items() if _kind(spec) is None)
    assert not unclassified, f"routes the isolation matrix does not know how to check: {unclassified}"
    for name in SYSTEM_WIDE_ROUTES:
        assert registered[name].admin_only, f"{name} is system-wide, so it must be admin-only"
    covered = {name for name, _ in OBJECT_CASES + LIST_CASES + CREATE_CASES + EXPORT_CASES}
    for name, spec in registered.items():
        if _kind(spec) == "exempt":
            continue
        assert name in covered, name
        sample = sample_for(name)
        if _kind(spec) in ("list", "export"):
            assert sample.listed_ids is not None, f"{name}: its sample needs listed_ids"


# --- objects addressed by id --------------------------------------------------------------------


@pytest.mark.parametrize(("route", "role"), OBJECT_CASES, ids=_ids(OBJECT_CASES))
async def test_another_tenants_object_is_not_found(
    api: ApiClient,
    api_app: web.Application,
    conn: asyncpg.Connection,
    tenants: tuple[Tenant, Tenant],
    route: str,
    role: Role,
) -> None:
    home, foreign = tenants
    assert route in api_app[ROUTE_SPECS], f"{route} is declared by a handler module but not registered by init_app"
    spec = api_app[ROUTE_SPECS][route]
    sample = sample_for(route)
    caller = home[role]

    # the same request on the caller's own object works, so a 404 below is about the tenant
    own = await sample.build(SampleContext(conn, caller, home))
    check_matches(spec, own)
    status, body, _ = await call(api, own.method, own.path, caller, headers=own.headers, **own.body())
    assert status == spec.status, (status, body)

    request = await sample.build(SampleContext(conn, caller, foreign))
    check_matches(spec, request)
    assert request.path != own.path, "the sample must address the owner's object"
    before = await request.snapshot(conn) if request.snapshot else None
    status, body, _ = await call(api, request.method, request.path, caller, headers=request.headers, **request.body())
    assert status == 404, (status, body)
    assert code_of(body) == "NOT_FOUND", body
    foreign_error = {key: value for key, value in body.items() if key != "request_id"}
    if request.snapshot:
        assert await request.snapshot(conn) == before, "another tenant's object changed"

    # an id that exists nowhere gets the very same answer (nothing tells the two apart), and
    # one that is not an id at all is just as unknown
    path = _UUID.sub(str(uuid.uuid4()), request.path)
    status, body, _ = await call(api, request.method, path, caller, headers=request.headers, **request.body())
    assert (status, {key: value for key, value in body.items() if key != "request_id"}) == (404, foreign_error)
    path = _UUID.sub("not-a-uuid", request.path)
    status, body, _ = await call(api, request.method, path, caller, headers=request.headers, **request.body())
    assert (status, code_of(body)) == (404, "NOT_FOUND"), (path, status, body)

    if request.method != "GET":
        # a stale If-Match must not turn the 404 into a 412 that would confirm the object exists
        stale = {**request.headers, "If-Match": '"999"'}
        status, body, _ = await call(api, request.method, request.path, caller, headers=stale, **request.body())
        assert (status, code_of(body)) == (404, "NOT_FOUND"), (status, body)
        if request.snapshot:
            assert await request.snapshot(conn) == before, "another tenant's object changed"


async def test_admin_without_x_org_id_acts_in_its_own_organization(
    api: ApiClient, conn: asyncpg.Connection, tenants: tuple[Tenant, Tenant]
) -> None:
    home, foreign = tenants
    target = foreign["mechanic"].user_id
    before = await conn.fetchval("SELECT to_jsonb(u) FROM users u WHERE id = $1", target)
    for method, json in (("GET", None), ("PATCH", {"email": fresh_email("admin-edit")}), ("DELETE", None)):
        status, body, _ = await call(api, method, f"/api/v1/users/{target}", home["admin"], json=json)
        assert (status, code_of(body)) == (404, "NOT_FOUND"), (method, body)
    assert await conn.fetchval("SELECT to_jsonb(u) FROM users u WHERE id = $1", target) == before


# --- lists --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("route", "role"), LIST_CASES, ids=_ids(LIST_CASES))
async def test_lists_show_only_the_callers_tenant(
    api: ApiClient,
    api_app: web.Application,
    conn: asyncpg.Connection,
    tenants: tuple[Tenant, Tenant],
    route: str,
    role: Role,
) -> None:
    home, foreign = tenants
    assert route in api_app[ROUTE_SPECS], f"{route} is declared by a handler module but not registered by init_app"
    spec = api_app[ROUTE_SPECS][route]
    sample = sample_for(route)
    assert sample.listed_ids is not None
    caller = home[role]
    request = await sample.build(SampleContext(conn, caller, home))
    check_matches(spec, request)
    own_ids = await sample.listed_ids(conn, home)
    foreign_ids = await sample.listed_ids(conn, foreign)
    assert own_ids and foreign_ids, "the sample must give both tenants something to list"

    seen: set[str] = set()
    path: str | None = request.path
    while path is not None:
        status, body, _ = await call(api, request.method, path, caller, headers=request.headers)
        assert status == 200, (status, body)
        seen |= {item["id"] for item in body["items"]}
        for item in body["items"]:
            assert item.get("org_id", str(home.org_id)) == str(home.org_id), item
        cursor = body["next_cursor"]
        separator = "&" if "?" in request.path else "?"
        path = f"{request.path}{separator}cursor={cursor}" if cursor else None
    assert own_ids <= seen
    assert not seen & foreign_ids, "another tenant's objects are listed"

    # a cursor taken from B's listing does not lead A into B's rows
    status, body, _ = await call(api, request.method, _with_query(request.path, limit="1"), foreign[role])
    assert status == 200, body
    assert body["next_cursor"], "the sample must give B more than one object to list"
    borrowed = _with_query(request.path, cursor=body["next_cursor"])
    status, body, _ = await call(api, request.method, borrowed, caller, headers=request.headers)
    assert status in (200, 400), (status, body)
    if status == 200:
        assert not {item["id"] for item in body["items"]} & foreign_ids, "a borrowed cursor listed B's objects"


async def test_admin_lists_another_tenants_users_only_through_x_org_id(
    api: ApiClient, conn: asyncpg.Connection, tenants: tuple[Tenant, Tenant]
) -> None:
    home, foreign = tenants
    home_ids = {str(member.user_id) for member in home.members.values()}
    foreign_ids = {str(member.user_id) for member in foreign.members.values()}

    status, body, _ = await call(api, "GET", "/api/v1/users?limit=200", home["admin"])
    assert status == 200, body
    seen = {item["id"] for item in body["items"]}
    assert home_ids <= seen and not seen & foreign_ids

    acting = {"X-Org-ID": str(foreign.org_id)}
    status, body, _ = await call(api, "GET", "/api/v1/users?limit=200", home["admin"], headers=acting)
    assert status == 200, body
    seen = {item["id"] for item in body["items"]}
    assert foreign_ids <= seen and not seen & home_ids
    assert {item["org_id"] for item in body["items"]} == {str(foreign.org_id)}

    target = foreign["scheduler"].user_id
    status, body, _ = await call(api, "GET", f"/api/v1/users/{target}", home["admin"], headers=acting)
    assert (status, body["id"], body["org_id"]) == (200, str(target), str(foreign.org_id)), body

    # and a user the admin creates while acting for B belongs to B
    new = {"email": fresh_email("for-b"), "role": "mechanic", "password": TEST_PASSWORD}
    status, body, _ = await call(api, "POST", "/api/v1/users", home["admin"], json=new, headers=acting)
    assert status == 201, body
    assert await conn.fetchval("SELECT org_id FROM users WHERE id = $1", uuid.UUID(body["id"])) == foreign.org_id


# --- creates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("route", "role"), CREATE_CASES, ids=_ids(CREATE_CASES))
async def test_creates_land_in_the_callers_tenant(
    api: ApiClient,
    api_app: web.Application,
    conn: asyncpg.Connection,
    tenants: tuple[Tenant, Tenant],
    route: str,
    role: Role,
) -> None:
    home, foreign = tenants
    assert route in api_app[ROUTE_SPECS], f"{route} is declared by a handler module but not registered by init_app"
    spec = api_app[ROUTE_SPECS][route]
    sample = sample_for(route)
    caller = home[role]

    request = await sample.build(SampleContext(conn, caller, home))
    check_matches(spec, request)
    assert isinstance(request.json, dict) or request.form, f"{route}: the create sample needs an object body"
    before = await request.snapshot(conn) if request.snapshot else None
    smuggled = {**request.fields, "org_id": str(foreign.org_id)}
    status, body, _ = await call(
        api, request.method, request.path, caller, headers=request.headers, **request.body(smuggled)
    )
    assert status == 400, (status, body)
    assert code_of(body) == "VALIDATION_ERROR", body
    assert body["details"]["fields"].get("org_id") == "unknown field", body
    if request.snapshot:
        assert await request.snapshot(conn) == before, "a refused create created something"

    status, body, headers = await call(api, request.method, request.path, caller, **request.body())
    assert status == spec.status, (status, body)
    assert body.get("org_id", str(home.org_id)) == str(home.org_id), body
    location = headers["Location"]
    status, seen, _ = await call(api, "GET", location, caller)
    assert (status, seen["id"]) == (200, created_id(body)), seen
    status, error, _ = await call(api, "GET", location, foreign[role])
    assert (status, code_of(error)) == (404, "NOT_FOUND"), error

    if spec.idempotent:
        # Idempotency-Keys are scoped to the organization: B reusing A's key is not a replay of A's answer
        key = f"isolation-{uuid.uuid4()}"
        again = await sample.build(SampleContext(conn, caller, home))
        status, first, _ = await call(
            api, again.method, again.path, caller, headers={**again.headers, "Idempotency-Key": key}, **again.body()
        )
        assert status == spec.status, (status, first)
        status, second, headers = await call(
            api,
            again.method,
            again.path,
            foreign[role],
            headers={**again.headers, "Idempotency-Key": key},
            **again.body(),
        )
        assert "Idempotent-Replayed" not in headers, second
        assert created_id(second or {}) != created_id(first), second
        if status == spec.status:
            assert second.get("org_id", str(foreign.org_id)) == str(foreign.org_id), second


async def test_user_created_by_tenant_admin_belongs_to_its_organization(
    api: ApiClient, conn: asyncpg.Connection, tenants: tuple[Tenant, Tenant]
) -> None:
    home, foreign = tenants
    email = fresh_email("placed")
    body = {"email": email, "role": "auditor", "password": TEST_PASSWORD, "org_id": str(foreign.org_id)}
    status, error, _ = await call(api, "POST", "/api/v1/users", home["tenant_admin"], json=body)
    assert (status, code_of(error)) == (400, "VALIDATION_ERROR"), error
    assert await conn.fetchval("SELECT count(*) FROM users WHERE email = $1::citext", email) == 0

    del body["org_id"]
    status, user, _ = await call(api, "POST", "/api/v1/users", home["tenant_admin"], json=body)
    assert status == 201, user
    row = await conn.fetchrow("SELECT org_id, role::text AS role FROM users WHERE email = $1::citext", email)
    assert row is not None
    assert (row["org_id"], row["role"], user["org_id"]) == (home.org_id, "auditor", str(home.org_id))


async def test_another_tenants_admin_is_not_found_rather_than_forbidden(
    api: ApiClient, conn: asyncpg.Connection, tenants: tuple[Tenant, Tenant]
) -> None:
    # the admin-protection rule (403) must not run before the tenant lookup (404), or it would
    # confirm that the id is an admin somewhere
    home, foreign = tenants
    target = foreign["admin"].user_id
    before = await conn.fetchval("SELECT to_jsonb(u) FROM users u WHERE id = $1", target)
    for method, json in (("PATCH", {"email": fresh_email("x")}), ("PATCH", {"role": "mechanic"}), ("DELETE", None)):
        status, body, _ = await call(api, method, f"/api/v1/users/{target}", home["tenant_admin"], json=json)
        assert (status, code_of(body)) == (404, "NOT_FOUND"), (method, json, body)
    assert await conn.fetchval("SELECT to_jsonb(u) FROM users u WHERE id = $1", target) == before


async def test_an_email_used_in_another_tenant_is_free_and_invisible(
    api: ApiClient, conn: asyncpg.Connection, tenants: tuple[Tenant, Tenant]
) -> None:
    home, foreign = tenants
    taken = foreign["scheduler"].email
    status, body, _ = await call(api, "GET", f"/api/v1/users?email={taken}", home["tenant_admin"])
    assert (status, body["items"]) == (200, []), body

    # a 409 here would tell org A that the address exists in some other organization
    new = {"email": taken, "role": "scheduler", "password": TEST_PASSWORD}
    status, body, _ = await call(api, "POST", "/api/v1/users", home["tenant_admin"], json=new)
    assert status == 201, body
    assert body["org_id"] == str(home.org_id)
    owners = await conn.fetch("SELECT org_id FROM users WHERE email = $1::citext AND deleted_at IS NULL", taken)
    assert sorted(str(row["org_id"]) for row in owners) == sorted([str(home.org_id), str(foreign.org_id)])


# --- X-Org-ID -----------------------------------------------------------------------------------


async def test_x_org_id_of_an_unknown_or_deleted_organization_is_not_found(
    api: ApiClient, conn: asyncpg.Connection, tenants: tuple[Tenant, Tenant]
) -> None:
    home, _ = tenants
    status, body, _ = await call(api, "GET", "/api/v1/users", home["admin"], headers={"X-Org-ID": str(uuid.uuid4())})
    assert (status, code_of(body)) == (404, "NOT_FOUND"), body

    gone = await conn.fetchval(
        "INSERT INTO organizations (name, deleted_at) VALUES ($1, now()) RETURNING id", f"gone-{uuid.uuid4().hex}"
    )
    status, body, _ = await call(api, "GET", "/api/v1/users", home["admin"], headers={"X-Org-ID": str(gone)})
    assert (status, code_of(body)) == (404, "NOT_FOUND"), body


async def test_non_admin_may_name_only_its_own_organization_in_x_org_id(
    api: ApiClient, tenants: tuple[Tenant, Tenant]
) -> None:
    home, foreign = tenants
    for role in (role for role in Role if role is not Role.ADMIN):
        await _only_own_x_org_id(api, home, foreign, role)


async def _only_own_x_org_id(api: ApiClient, home: Tenant, foreign: Tenant, role: Role) -> None:
    member = home[role]
    for org_id in (foreign.org_id, uuid.uuid4()):
        status, body, _ = await call(api, "GET", "/api/v1/users", member, headers={"X-Org-ID": str(org_id)})
        assert (status, code_of(body)) == (403, "FORBIDDEN"), (org_id, body)
        target = foreign["mechanic"].user_id
        status, body, _ = await call(api, "GET", f"/api/v1/users/{target}", member, headers={"X-Org-ID": str(org_id)})
        assert (status, code_of(body)) == (403, "FORBIDDEN"), (org_id, body)

    status, body, _ = await call(api, "GET", "/api/v1/users", member, headers={"X-Org-ID": str(home.org_id)})
    assert status == 200, body
    assert {item["org_id"] for item in body["items"]} == {str(home.org_id)}
    status, body, _ = await call(api, "GET", "/api/v1/users", member, headers={"X-Org-ID": str(home.org_id).upper()})
    assert status == 200, body


async def test_malformed_x_org_id_is_a_validation_error(
    api: ApiClient, conn: asyncpg.Connection, tenant: Tenant
) -> None:
    await raise_rate_limits(conn, tenant.org_id)
    for role in (Role.ADMIN, Role.TENANT_ADMIN, Role.MECHANIC):
        for header in ("not-a-uuid", "", "123", f"{tenant.org_id}x", "00000000-0000-0000-0000-00000000000g"):
            status, body, _ = await call(api, "GET", "/api/v1/users", tenant[role], headers={"X-Org-ID": header})
            assert (status, code_of(body)) == (400, "VALIDATION_ERROR"), (role, header, body)


@pytest.mark.parametrize(("route", "role"), EXPORT_CASES, ids=_ids(EXPORT_CASES))
async def test_exports_contain_only_the_callers_tenant(
    api: ApiClient,
    api_app: web.Application,
    conn: asyncpg.Connection,
    tenants: tuple[Tenant, Tenant],
    route: str,
    role: Role,
) -> None:
    home, foreign = tenants
    sample = sample_for(route)
    assert sample.listed_ids is not None
    caller = home[role]
    request = await sample.build(SampleContext(conn, caller, home))
    check_matches(api_app[ROUTE_SPECS][route], request)
    own_ids = await sample.listed_ids(conn, home)
    foreign_ids = await sample.listed_ids(conn, foreign)
    assert own_ids and foreign_ids, "the sample must give both tenants something to export"
    async with api.request(request.method, request.path, headers={**caller.auth, **request.headers}) as response:
        assert response.status == 200
        text = (await response.read()).decode()
    assert all(own_id in text for own_id in own_ids)
    assert not any(foreign_id in text for foreign_id in foreign_ids)
