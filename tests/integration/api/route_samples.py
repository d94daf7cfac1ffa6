"""One sample request per route, shared by the RBAC matrix and the tenant-isolation matrix.

A sample is a request that is valid in every respect except, possibly, authorisation: the
method and path of its route, ids of real objects, a body the route accepts. It is built for a
`caller` and addresses the objects of an `owner` tenant: the RBAC matrix passes the caller's own
tenant, the isolation matrix another one. A sample that changes something also says how to read
the state it would change (`snapshot`), so a refused request can be shown to have changed nothing.

Both matrices are driven by the routes the application registers. A route without an entry in
`SAMPLES` fails them: whoever adds a route adds its sample here (and, for a public route, its
name to `PUBLIC_ROUTES`; for an admin-only route that is not about one tenant, to
`SYSTEM_WIDE_ROUTES`).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

import aiohttp
import asyncpg

import amss.api.rest.handlers
from amss.api.rest.routing import RouteSpec
from amss.auth.rbac import is_allowed
from amss.domain.enums import Role
from tests.api_support import TEST_PASSWORD, Member, Tenant
from tests.integration.factories import (
    make_aircraft,
    make_compliance_item,
    make_delivery,
    make_import,
    make_part_definition,
    make_part_item,
    make_program,
    make_reservation,
    make_task,
    make_user,
    make_webhook,
    short_id,
    soon,
)

Snapshot = Callable[[asyncpg.Connection], Awaitable[Any]]


@dataclass(frozen=True)
class SampleRequest:
    method: str
    path: str
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # reads the state this request would change (None for a read-only request)
    snapshot: Snapshot | None = None
    # a multipart/form-data body instead of JSON (an upload): field -> text, or (file name, bytes)
    form: dict[str, str | tuple[str, bytes]] | None = None

    @property
    def fields(self) -> dict[str, Any]:
        """The body's fields, whichever the encoding (what a smuggled field is added to)."""
        return dict(self.form) if self.form is not None else dict(self.json)

    def body(self, fields: dict[str, Any] | None = None) -> dict[str, Any]:
        """`call()` keyword arguments sending this body (or `fields` in its encoding), made afresh each time."""
        if self.form is None:
            return {"json": self.json if fields is None else fields}
        data = aiohttp.FormData()
        for name, value in (self.form if fields is None else fields).items():
            if isinstance(value, tuple):
                data.add_field(name, value[1], filename=value[0], content_type="text/csv")
            else:
                data.add_field(name, value)
        return {"data": data}


def created_id(body: Any) -> Any:
    """The id a create answers with (`id`, or `import_id` for an upload's 202)."""
    return body.get("id", body.get("import_id"))


@dataclass(frozen=True)
class SampleContext:
    conn: asyncpg.Connection
    caller: Member
    # the tenant whose objects the request addresses
    owner: Tenant


Builder = Callable[[SampleContext], Awaitable[SampleRequest]]
ListedIds = Callable[[asyncpg.Connection, Tenant], Awaitable[set[str]]]


@dataclass(frozen=True)
class RouteSample:
    build: Builder
    # list routes: the ids of `owner`'s objects its listing shows
    listed_ids: ListedIds | None = None


# Routes without a permission: no token needed. A new one must be acknowledged here (they may
# be registered from outside the handler modules, as the OpenAPI document is).
PUBLIC_ROUTES: Final = frozenset({"auth.login", "auth.refresh", "auth.logout", "auth.jwks", "meta.openapi"})

# Admin-only routes that are about the whole system rather than one tenant (an admin sees every
# organization), so the isolation matrix has no tenant boundary to check on them.
SYSTEM_WIDE_ROUTES: Final = {
    "organizations.create": "creates a tenant; admin only",
    "organizations.list": "lists every tenant; admin only",
}


# --- which routes exist -------------------------------------------------------------------------


def declared_routes() -> dict[str, RouteSpec]:
    """Every RouteSpec exported as ROUTES by a module of amss.api.rest.handlers (found, not listed)."""
    specs: dict[str, RouteSpec] = {}
    for info in sorted(pkgutil.iter_modules(amss.api.rest.handlers.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{amss.api.rest.handlers.__name__}.{info.name}")
        for spec in getattr(module, "ROUTES", []):
            assert spec.name not in specs, f"route name {spec.name} declared twice"
            specs[spec.name] = spec
    return specs


def may_use(role: Role, spec: RouteSpec) -> bool:
    """What the role table and the route's admin_only flag allow (the middleware's rule)."""
    assert spec.permission is not None
    resource, action = spec.permission
    return is_allowed(role, resource, action) and (not spec.admin_only or role is Role.ADMIN)


def has_path_id(spec: RouteSpec) -> bool:
    return "{" in spec.path


def check_matches(spec: RouteSpec, sample: SampleRequest) -> None:
    """The sample must be a request to its own route (a stale sample fails here, not by accident)."""
    assert sample.method == spec.method, f"sample for {spec.name}: method {sample.method}, route {spec.method}"
    pattern = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(spec.path)) + "$"
    path = sample.path.partition("?")[0]
    assert re.match(pattern, path), f"sample for {spec.name}: path {path} does not match {spec.path}"


# --- shared helpers -----------------------------------------------------------------------------


async def raise_rate_limits(conn: asyncpg.Connection, *org_ids: uuid.UUID) -> None:
    """The matrices send many requests per organization: lift the per-org limits out of the way."""
    await conn.execute(
        "UPDATE org_policies SET api_rate_limit_per_min = 1000000, rate_limits = '{}'::jsonb WHERE org_id = ANY($1)",
        list(org_ids),
    )


def row_snapshot(table: str, key: str, value: uuid.UUID) -> Snapshot:
    """The whole row (version, updated_at and deleted_at included) as JSON."""

    async def read(conn: asyncpg.Connection) -> Any:
        row = await conn.fetchval(f"SELECT to_jsonb(t) FROM {table} t WHERE {key} = $1", value)
        assert row is not None, f"{table} row {value} is gone"
        return row

    return read


def count_snapshot(sql: str, *args: Any) -> Snapshot:
    async def read(conn: asyncpg.Connection) -> Any:
        return await conn.fetchval(sql, *args)

    return read


def code_of(body: Any) -> Any:
    """The error code of a response body (None for a body that is not an error)."""
    return body.get("code") if isinstance(body, dict) else None


def fresh_email(prefix: str = "sample") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.test"


# --- organizations ------------------------------------------------------------------------------


async def _organizations_create(ctx: SampleContext) -> SampleRequest:
    name = f"org-sample-{short_id()}"
    return SampleRequest(
        "POST",
        "/api/v1/organizations",
        json={"name": name},
        snapshot=count_snapshot("SELECT count(*) FROM organizations WHERE name = $1", name),
    )


async def _organizations_list(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", "/api/v1/organizations?limit=200")


async def _organizations_get(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", f"/api/v1/organizations/{ctx.owner.org_id}")


async def _organizations_update(ctx: SampleContext) -> SampleRequest:
    return SampleRequest(
        "PATCH",
        f"/api/v1/organizations/{ctx.owner.org_id}",
        json={"name": f"org-renamed-{short_id()}"},
        snapshot=row_snapshot("organizations", "id", ctx.owner.org_id),
    )


async def _policy_get(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", f"/api/v1/organizations/{ctx.owner.org_id}/policy")


async def _policy_update(ctx: SampleContext) -> SampleRequest:
    current = await ctx.conn.fetchval(
        "SELECT max_webhook_attempts FROM org_policies WHERE org_id = $1", ctx.owner.org_id
    )
    return SampleRequest(
        "PATCH",
        f"/api/v1/organizations/{ctx.owner.org_id}/policy",
        json={"max_webhook_attempts": 7 if current != 7 else 8},
        snapshot=row_snapshot("org_policies", "org_id", ctx.owner.org_id),
    )


# --- users --------------------------------------------------------------------------------------


async def _users_create(ctx: SampleContext) -> SampleRequest:
    email = fresh_email("created")
    return SampleRequest(
        "POST",
        "/api/v1/users",
        json={"email": email, "role": Role.MECHANIC.value, "password": TEST_PASSWORD},
        snapshot=count_snapshot("SELECT count(*) FROM users WHERE email = $1::citext", email),
    )


async def _users_list(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", "/api/v1/users?limit=200")


async def _users_listed(conn: asyncpg.Connection, owner: Tenant) -> set[str]:
    rows = await conn.fetch("SELECT id FROM users WHERE org_id = $1 AND deleted_at IS NULL", owner.org_id)
    return {str(row["id"]) for row in rows}


async def _users_get(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", f"/api/v1/users/{ctx.owner[Role.MECHANIC].user_id}")


async def _users_update(ctx: SampleContext) -> SampleRequest:
    # a fresh non-admin target, so the tenant_admin-vs-admin rules stay out of the way
    user_id = await make_user(ctx.conn, ctx.owner.org_id, Role.SCHEDULER.value)
    return SampleRequest(
        "PATCH",
        f"/api/v1/users/{user_id}",
        json={"email": fresh_email("renamed")},
        snapshot=row_snapshot("users", "id", user_id),
    )


async def _users_delete(ctx: SampleContext) -> SampleRequest:
    user_id = await make_user(ctx.conn, ctx.owner.org_id, Role.MECHANIC.value)
    return SampleRequest("DELETE", f"/api/v1/users/{user_id}", snapshot=row_snapshot("users", "id", user_id))


async def _commands_get(ctx: SampleContext) -> SampleRequest:
    command_id = uuid.uuid4()
    await ctx.conn.execute(
        "INSERT INTO commands (id, org_id, actor, type, payload, principal, status, outcome_changed, outcome_view,"
        " completed_at) VALUES ($1, $2, $3, 'diag.noop', '{}', '{\"job\": \"sample\"}', 'succeeded', true,"
        " '{\"ok\":true}', now())",
        command_id,
        ctx.owner.org_id,
        f"aircraft:{ctx.owner.org_id}:{uuid.uuid4()}",
    )
    return SampleRequest("GET", f"/api/v1/commands/{command_id}")


async def _audit_ids(conn: asyncpg.Connection, owner: Tenant) -> set[str]:
    # every tenant has rows of its own to list (two, so a listing of one has a next page)
    for _ in range(2):
        await conn.execute(
            "INSERT INTO audit_logs (org_id, entity_type, entity_id, action) VALUES ($1, 'sample', $2, 'create')",
            owner.org_id,
            uuid.uuid4(),
        )
    rows = await conn.fetch("SELECT id FROM audit_logs WHERE org_id = $1", owner.org_id)
    return {str(row["id"]) for row in rows}


async def _audit_list(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", "/api/v1/audit-logs?limit=200")


async def _audit_export(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", "/api/v1/audit-logs/export")


# --- aircraft -----------------------------------------------------------------------------------


async def _aircraft_create(ctx: SampleContext) -> SampleRequest:
    tail_number = f"N-{short_id()}"
    return SampleRequest(
        "POST",
        "/api/v1/aircraft",
        json={"tail_number": tail_number, "model": "A320"},
        snapshot=count_snapshot(
            "SELECT count(*) FROM aircraft WHERE org_id = $1 AND tail_number = $2", ctx.owner.org_id, tail_number
        ),
    )


async def _aircraft_list(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", "/api/v1/aircraft?limit=200")


async def _aircraft_listed(conn: asyncpg.Connection, owner: Tenant) -> set[str]:
    # two of its own, so a listing of one has a next page
    for _ in range(2):
        await make_aircraft(conn, owner.org_id)
    rows = await conn.fetch("SELECT id FROM aircraft WHERE org_id = $1 AND deleted_at IS NULL", owner.org_id)
    return {str(row["id"]) for row in rows}


async def _aircraft_get(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", f"/api/v1/aircraft/{await make_aircraft(ctx.conn, ctx.owner.org_id)}")


async def _aircraft_update(ctx: SampleContext) -> SampleRequest:
    aircraft_id = await make_aircraft(ctx.conn, ctx.owner.org_id)
    return SampleRequest(
        "PATCH",
        f"/api/v1/aircraft/{aircraft_id}",
        json={"model": f"A321-{short_id()}"},
        snapshot=row_snapshot("aircraft", "id", aircraft_id),
    )


async def _aircraft_delete(ctx: SampleContext) -> SampleRequest:
    aircraft_id = await make_aircraft(ctx.conn, ctx.owner.org_id)
    return SampleRequest(
        "DELETE", f"/api/v1/aircraft/{aircraft_id}", snapshot=row_snapshot("aircraft", "id", aircraft_id)
    )


async def _aircraft_usage(ctx: SampleContext) -> SampleRequest:
    aircraft_id = await make_aircraft(ctx.conn, ctx.owner.org_id)
    return SampleRequest(
        "POST",
        f"/api/v1/aircraft/{aircraft_id}/usage",
        json={"flight_hours": 3, "cycles": 1},
        snapshot=row_snapshot("aircraft", "id", aircraft_id),
    )


# --- parts --------------------------------------------------------------------------------------


async def _reservable(conn: asyncpg.Connection, org_id: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """A scheduled task (on an aircraft of its own, so windows never overlap) and an in-stock part item."""
    aircraft_id = await make_aircraft(conn, org_id)
    task_id = await make_task(conn, org_id, aircraft_id, soon(48), soon(50))
    return task_id, await make_part_item(conn, org_id)


async def _part_definitions_create(ctx: SampleContext) -> SampleRequest:
    name = f"part-{short_id()}"
    return SampleRequest(
        "POST",
        "/api/v1/part-definitions",
        json={"name": name, "category": "sample"},
        snapshot=count_snapshot(
            "SELECT count(*) FROM part_definitions WHERE org_id = $1 AND name = $2", ctx.owner.org_id, name
        ),
    )


async def _part_definitions_list(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", "/api/v1/part-definitions?limit=200")


async def _part_definitions_listed(conn: asyncpg.Connection, owner: Tenant) -> set[str]:
    for _ in range(2):
        await make_part_definition(conn, owner.org_id)
    rows = await conn.fetch("SELECT id FROM part_definitions WHERE org_id = $1 AND deleted_at IS NULL", owner.org_id)
    return {str(row["id"]) for row in rows}


async def _part_definitions_get(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", f"/api/v1/part-definitions/{await make_part_definition(ctx.conn, ctx.owner.org_id)}")


async def _part_definitions_update(ctx: SampleContext) -> SampleRequest:
    definition_id = await make_part_definition(ctx.conn, ctx.owner.org_id)
    return SampleRequest(
        "PATCH",
        f"/api/v1/part-definitions/{definition_id}",
        json={"name": f"part-renamed-{short_id()}"},
        snapshot=row_snapshot("part_definitions", "id", definition_id),
    )


async def _part_definitions_delete(ctx: SampleContext) -> SampleRequest:
    definition_id = await make_part_definition(ctx.conn, ctx.owner.org_id)
    return SampleRequest(
        "DELETE",
        f"/api/v1/part-definitions/{definition_id}",
        snapshot=row_snapshot("part_definitions", "id", definition_id),
    )


async def _part_items_create(ctx: SampleContext) -> SampleRequest:
    definition_id = await make_part_definition(ctx.conn, ctx.owner.org_id)
    serial_number = f"SN-{short_id()}"
    return SampleRequest(
        "POST",
        "/api/v1/part-items",
        json={"part_definition_id": str(definition_id), "serial_number": serial_number},
        snapshot=count_snapshot(
            "SELECT count(*) FROM part_items WHERE org_id = $1 AND serial_number = $2", ctx.owner.org_id, serial_number
        ),
    )


async def _part_items_list(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", "/api/v1/part-items?limit=200")


async def _part_items_listed(conn: asyncpg.Connection, owner: Tenant) -> set[str]:
    for _ in range(2):
        await make_part_item(conn, owner.org_id)
    rows = await conn.fetch("SELECT id FROM part_items WHERE org_id = $1 AND deleted_at IS NULL", owner.org_id)
    return {str(row["id"]) for row in rows}


async def _part_items_get(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", f"/api/v1/part-items/{await make_part_item(ctx.conn, ctx.owner.org_id)}")


async def _part_items_update(ctx: SampleContext) -> SampleRequest:
    item_id = await make_part_item(ctx.conn, ctx.owner.org_id)
    return SampleRequest(
        "PATCH",
        f"/api/v1/part-items/{item_id}",
        json={"serial_number": f"SN-renamed-{short_id()}"},
        snapshot=row_snapshot("part_items", "id", item_id),
    )


async def _part_items_delete(ctx: SampleContext) -> SampleRequest:
    item_id = await make_part_item(ctx.conn, ctx.owner.org_id)
    return SampleRequest("DELETE", f"/api/v1/part-items/{item_id}", snapshot=row_snapshot("part_items", "id", item_id))


async def _part_reservations_create(ctx: SampleContext) -> SampleRequest:
    task_id, item_id = await _reservable(ctx.conn, ctx.owner.org_id)
    return SampleRequest(
        "POST",
        "/api/v1/part-reservations",
        json={"task_id": str(task_id), "part_item_id": str(item_id)},
        snapshot=count_snapshot("SELECT count(*) FROM part_reservations WHERE part_item_id = $1", item_id),
    )


async def _part_reservations_list(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", "/api/v1/part-reservations?limit=200")


async def _part_reservations_listed(conn: asyncpg.Connection, owner: Tenant) -> set[str]:
    for _ in range(2):
        await make_reservation(conn, owner.org_id, *await _reservable(conn, owner.org_id))
    rows = await conn.fetch("SELECT id FROM part_reservations WHERE org_id = $1", owner.org_id)
    return {str(row["id"]) for row in rows}


async def _part_reservations_get(ctx: SampleContext) -> SampleRequest:
    reservation_id = await make_reservation(ctx.conn, ctx.owner.org_id, *await _reservable(ctx.conn, ctx.owner.org_id))
    return SampleRequest("GET", f"/api/v1/part-reservations/{reservation_id}")


async def _part_reservations_state(ctx: SampleContext) -> SampleRequest:
    reservation_id = await make_reservation(ctx.conn, ctx.owner.org_id, *await _reservable(ctx.conn, ctx.owner.org_id))
    return SampleRequest(
        "PATCH",
        f"/api/v1/part-reservations/{reservation_id}/state",
        json={"state": "released"},
        snapshot=row_snapshot("part_reservations", "id", reservation_id),
    )


SAMPLES: Final[dict[str, RouteSample]] = {
    "aircraft.create": RouteSample(_aircraft_create),
    "aircraft.list": RouteSample(_aircraft_list, listed_ids=_aircraft_listed),
    "aircraft.get": RouteSample(_aircraft_get),
    "aircraft.update": RouteSample(_aircraft_update),
    "aircraft.delete": RouteSample(_aircraft_delete),
    "aircraft.usage": RouteSample(_aircraft_usage),
    "audit_logs.list": RouteSample(_audit_list, listed_ids=_audit_ids),
    "audit_logs.export": RouteSample(_audit_export, listed_ids=_audit_ids),
    "commands.get": RouteSample(_commands_get),
    "organizations.create": RouteSample(_organizations_create),
    "organizations.list": RouteSample(_organizations_list),
    "organizations.get": RouteSample(_organizations_get),
    "organizations.update": RouteSample(_organizations_update),
    "organizations.policy.get": RouteSample(_policy_get),
    "organizations.policy.update": RouteSample(_policy_update),
    "part_definitions.create": RouteSample(_part_definitions_create),
    "part_definitions.list": RouteSample(_part_definitions_list, listed_ids=_part_definitions_listed),
    "part_definitions.get": RouteSample(_part_definitions_get),
    "part_definitions.update": RouteSample(_part_definitions_update),
    "part_definitions.delete": RouteSample(_part_definitions_delete),
    "part_items.create": RouteSample(_part_items_create),
    "part_items.list": RouteSample(_part_items_list, listed_ids=_part_items_listed),
    "part_items.get": RouteSample(_part_items_get),
    "part_items.update": RouteSample(_part_items_update),
    "part_items.delete": RouteSample(_part_items_delete),
    "part_reservations.create": RouteSample(_part_reservations_create),
    "part_reservations.list": RouteSample(_part_reservations_list, listed_ids=_part_reservations_listed),
    "part_reservations.get": RouteSample(_part_reservations_get),
    "part_reservations.state": RouteSample(_part_reservations_state),
    "users.create": RouteSample(_users_create),
    "users.list": RouteSample(_users_list, listed_ids=_users_listed),
    "users.get": RouteSample(_users_get),
    "users.update": RouteSample(_users_update),
    "users.delete": RouteSample(_users_delete),
}


def sample_for(name: str) -> RouteSample:
    sample = SAMPLES.get(name)
    assert sample is not None, (
        f"route {name} has no sample request: add one to tests/integration/api/route_samples.py SAMPLES"
    )
    return sample


# --- maintenance tasks and compliance items -----------------------------------------------------


def _assignable_mechanic(ctx: SampleContext) -> uuid.UUID:
    """The caller when it is a mechanic of the owner (so it may work the task), else the owner's mechanic."""
    if ctx.caller.role is Role.MECHANIC and ctx.owner[Role.MECHANIC].user_id == ctx.caller.user_id:
        return ctx.caller.user_id
    return ctx.owner[Role.MECHANIC].user_id


async def _sample_task(ctx: SampleContext, **values: Any) -> uuid.UUID:
    aircraft_id = await make_aircraft(ctx.conn, ctx.owner.org_id, status=values.pop("aircraft_status", "operational"))
    start, end = values.pop("start", soon(48)), values.pop("end", soon(50))
    return await make_task(ctx.conn, ctx.owner.org_id, aircraft_id, start, end, **values)


async def _tasks_create(ctx: SampleContext) -> SampleRequest:
    aircraft_id = await make_aircraft(ctx.conn, ctx.owner.org_id)
    return SampleRequest(
        "POST",
        "/api/v1/maintenance-tasks",
        json={
            "aircraft_id": str(aircraft_id),
            "type": "inspection",
            "start_time": soon(48).isoformat(),
            "end_time": soon(50).isoformat(),
        },
        snapshot=count_snapshot("SELECT count(*) FROM maintenance_tasks WHERE aircraft_id = $1", aircraft_id),
    )


async def _tasks_list(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", "/api/v1/maintenance-tasks?limit=200")


async def _tasks_listed(conn: asyncpg.Connection, owner: Tenant) -> set[str]:
    for _ in range(2):
        await make_task(conn, owner.org_id, await make_aircraft(conn, owner.org_id), soon(48), soon(50))
    rows = await conn.fetch("SELECT id FROM maintenance_tasks WHERE org_id = $1 AND deleted_at IS NULL", owner.org_id)
    return {str(row["id"]) for row in rows}


async def _tasks_get(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", f"/api/v1/maintenance-tasks/{await _sample_task(ctx)}")


async def _tasks_update(ctx: SampleContext) -> SampleRequest:
    task_id = await _sample_task(ctx)
    return SampleRequest(
        "PATCH",
        f"/api/v1/maintenance-tasks/{task_id}",
        json={"notes": f"moved hangar {short_id()}"},
        snapshot=row_snapshot("maintenance_tasks", "id", task_id),
    )


async def _tasks_transition(ctx: SampleContext) -> SampleRequest:
    # a start every role with T may make: the window is open, the aircraft grounded, the caller assigned
    task_id = await _sample_task(
        ctx,
        aircraft_status="grounded",
        start=soon(-0.01),
        end=soon(2),
        assigned_mechanic_id=_assignable_mechanic(ctx),
    )
    return SampleRequest(
        "PATCH",
        f"/api/v1/maintenance-tasks/{task_id}/state",
        json={"state": "in_progress"},
        snapshot=row_snapshot("maintenance_tasks", "id", task_id),
    )


async def _tasks_delete(ctx: SampleContext) -> SampleRequest:
    task_id = await _sample_task(ctx)
    return SampleRequest(
        "DELETE", f"/api/v1/maintenance-tasks/{task_id}", snapshot=row_snapshot("maintenance_tasks", "id", task_id)
    )


async def _compliance_item(ctx: SampleContext) -> uuid.UUID:
    return await make_compliance_item(ctx.conn, ctx.owner.org_id, await _sample_task(ctx))


async def _compliance_create(ctx: SampleContext) -> SampleRequest:
    task_id = await _sample_task(ctx)
    return SampleRequest(
        "POST",
        "/api/v1/compliance-items",
        json={"task_id": str(task_id), "description": "torque check"},
        snapshot=count_snapshot("SELECT count(*) FROM compliance_items WHERE task_id = $1", task_id),
    )


async def _compliance_list(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", "/api/v1/compliance-items?limit=200")


async def _compliance_listed(conn: asyncpg.Connection, owner: Tenant) -> set[str]:
    task_id = await make_task(conn, owner.org_id, await make_aircraft(conn, owner.org_id), soon(48), soon(50))
    for _ in range(2):
        await make_compliance_item(conn, owner.org_id, task_id)
    rows = await conn.fetch("SELECT id FROM compliance_items WHERE org_id = $1 AND deleted_at IS NULL", owner.org_id)
    return {str(row["id"]) for row in rows}


async def _compliance_get(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", f"/api/v1/compliance-items/{await _compliance_item(ctx)}")


async def _compliance_update(ctx: SampleContext) -> SampleRequest:
    item_id = await _compliance_item(ctx)
    return SampleRequest(
        "PATCH",
        f"/api/v1/compliance-items/{item_id}",
        json={"description": f"inspect seal {short_id()}"},
        snapshot=row_snapshot("compliance_items", "id", item_id),
    )


async def _compliance_sign_off(ctx: SampleContext) -> SampleRequest:
    # a mechanic signs off only the items of a task assigned to them (an admin any item)
    task_id = await _sample_task(ctx, assigned_mechanic_id=_assignable_mechanic(ctx))
    item_id = await make_compliance_item(ctx.conn, ctx.owner.org_id, task_id)
    return SampleRequest(
        "PATCH",
        f"/api/v1/compliance-items/{item_id}/sign-off",
        json={"result": "pass"},
        snapshot=row_snapshot("compliance_items", "id", item_id),
    )


SAMPLES.update(
    {
        "maintenance_tasks.create": RouteSample(_tasks_create),
        "maintenance_tasks.list": RouteSample(_tasks_list, listed_ids=_tasks_listed),
        "maintenance_tasks.get": RouteSample(_tasks_get),
        "maintenance_tasks.update": RouteSample(_tasks_update),
        "maintenance_tasks.transition": RouteSample(_tasks_transition),
        "maintenance_tasks.delete": RouteSample(_tasks_delete),
        "compliance_items.create": RouteSample(_compliance_create),
        "compliance_items.list": RouteSample(_compliance_list, listed_ids=_compliance_listed),
        "compliance_items.get": RouteSample(_compliance_get),
        "compliance_items.update": RouteSample(_compliance_update),
        "compliance_items.sign_off": RouteSample(_compliance_sign_off),
    }
)

# --- maintenance programs -----------------------------------------------------------------------


async def _programs_create(ctx: SampleContext) -> SampleRequest:
    aircraft_id = await make_aircraft(ctx.conn, ctx.owner.org_id)
    return SampleRequest(
        "POST",
        "/api/v1/maintenance-programs",
        json={
            "name": f"A-check {short_id()}",
            "aircraft_id": str(aircraft_id),
            "interval_type": "calendar",
            "interval_value": 30,
        },
        snapshot=count_snapshot("SELECT count(*) FROM maintenance_programs WHERE aircraft_id = $1", aircraft_id),
    )


async def _programs_list(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", "/api/v1/maintenance-programs?limit=200")


async def _programs_listed(conn: asyncpg.Connection, owner: Tenant) -> set[str]:
    for _ in range(2):
        await make_program(conn, owner.org_id, aircraft_id=await make_aircraft(conn, owner.org_id))
    rows = await conn.fetch(
        "SELECT id FROM maintenance_programs WHERE org_id = $1 AND deleted_at IS NULL", owner.org_id
    )
    return {str(row["id"]) for row in rows}


async def _programs_get(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", f"/api/v1/maintenance-programs/{await make_program(ctx.conn, ctx.owner.org_id)}")


async def _programs_update(ctx: SampleContext) -> SampleRequest:
    program_id = await make_program(ctx.conn, ctx.owner.org_id)
    return SampleRequest(
        "PATCH",
        f"/api/v1/maintenance-programs/{program_id}",
        json={"interval_value": 45},
        snapshot=row_snapshot("maintenance_programs", "id", program_id),
    )


async def _programs_delete(ctx: SampleContext) -> SampleRequest:
    program_id = await make_program(ctx.conn, ctx.owner.org_id)
    return SampleRequest(
        "DELETE",
        f"/api/v1/maintenance-programs/{program_id}",
        snapshot=row_snapshot("maintenance_programs", "id", program_id),
    )


SAMPLES.update(
    {
        "maintenance_programs.create": RouteSample(_programs_create),
        "maintenance_programs.list": RouteSample(_programs_list, listed_ids=_programs_listed),
        "maintenance_programs.get": RouteSample(_programs_get),
        "maintenance_programs.update": RouteSample(_programs_update),
        "maintenance_programs.delete": RouteSample(_programs_delete),
    }
)

# --- webhooks -----------------------------------------------------------------------------------


async def _webhooks_create(ctx: SampleContext) -> SampleRequest:
    url = f"http://127.0.0.1:9/hooks/{short_id()}"
    return SampleRequest(
        "POST",
        "/api/v1/webhooks",
        json={"url": url, "events": ["task_created"]},
        snapshot=count_snapshot("SELECT count(*) FROM webhooks WHERE org_id = $1 AND url = $2", ctx.owner.org_id, url),
    )


async def _webhooks_list(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", "/api/v1/webhooks?limit=200")


async def _webhooks_listed(conn: asyncpg.Connection, owner: Tenant) -> set[str]:
    for _ in range(2):
        await make_webhook(conn, owner.org_id)
    rows = await conn.fetch("SELECT id FROM webhooks WHERE org_id = $1 AND deleted_at IS NULL", owner.org_id)
    return {str(row["id"]) for row in rows}


async def _webhooks_get(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", f"/api/v1/webhooks/{await make_webhook(ctx.conn, ctx.owner.org_id)}")


async def _webhooks_update(ctx: SampleContext) -> SampleRequest:
    webhook_id = await make_webhook(ctx.conn, ctx.owner.org_id)
    return SampleRequest(
        "PATCH",
        f"/api/v1/webhooks/{webhook_id}",
        json={"events": ["task_created", "part_reserved"]},
        snapshot=row_snapshot("webhooks", "id", webhook_id),
    )


async def _webhooks_delete(ctx: SampleContext) -> SampleRequest:
    webhook_id = await make_webhook(ctx.conn, ctx.owner.org_id)
    return SampleRequest(
        "DELETE", f"/api/v1/webhooks/{webhook_id}", snapshot=row_snapshot("webhooks", "id", webhook_id)
    )


async def _webhooks_test(ctx: SampleContext) -> SampleRequest:
    webhook_id = await make_webhook(ctx.conn, ctx.owner.org_id)
    return SampleRequest(
        "POST",
        f"/api/v1/webhooks/{webhook_id}/test",
        snapshot=count_snapshot(
            "SELECT count(*) FROM outbox_events WHERE event_type = 'webhook.test' AND aggregate_id = $1", webhook_id
        ),
    )


async def _webhooks_rotate(ctx: SampleContext) -> SampleRequest:
    webhook_id = await make_webhook(ctx.conn, ctx.owner.org_id)
    return SampleRequest(
        "POST", f"/api/v1/webhooks/{webhook_id}/rotate-secret", snapshot=row_snapshot("webhooks", "id", webhook_id)
    )


async def _webhooks_deliveries(ctx: SampleContext) -> SampleRequest:
    webhook_id = await make_webhook(ctx.conn, ctx.owner.org_id)
    for _ in range(2):  # more than one, so a page of one has a next cursor
        await make_delivery(ctx.conn, ctx.owner.org_id, webhook_id)
    return SampleRequest("GET", f"/api/v1/webhooks/{webhook_id}/deliveries")


async def _webhooks_redeliver(ctx: SampleContext) -> SampleRequest:
    webhook_id = await make_webhook(ctx.conn, ctx.owner.org_id)
    delivery_id = await make_delivery(ctx.conn, ctx.owner.org_id, webhook_id)
    return SampleRequest(
        "POST",
        f"/api/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
        snapshot=row_snapshot("webhook_deliveries", "id", delivery_id),
    )


# --- CSV imports --------------------------------------------------------------------------------


async def _imports_create(ctx: SampleContext) -> SampleRequest:
    content = f"part_name,serial_number\r\npump,SN-import-{short_id()}\r\n".encode()
    return SampleRequest(
        "POST",
        "/api/v1/imports/csv",
        form={"type": "parts", "file": ("parts.csv", content)},
        snapshot=count_snapshot("SELECT count(*) FROM imports WHERE org_id = $1", ctx.owner.org_id),
    )


async def _sample_import(ctx: SampleContext) -> uuid.UUID:
    return await make_import(ctx.conn, ctx.owner.org_id, ctx.owner[Role.SCHEDULER].user_id)


async def _imports_list(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", "/api/v1/imports?limit=200")


async def _imports_listed(conn: asyncpg.Connection, owner: Tenant) -> set[str]:
    for _ in range(2):
        await make_import(conn, owner.org_id, owner[Role.SCHEDULER].user_id)
    rows = await conn.fetch("SELECT id FROM imports WHERE org_id = $1", owner.org_id)
    return {str(row["id"]) for row in rows}


async def _imports_get(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", f"/api/v1/imports/{await _sample_import(ctx)}")


async def _imports_rows(ctx: SampleContext) -> SampleRequest:
    return SampleRequest("GET", f"/api/v1/imports/{await _sample_import(ctx)}/rows?status=invalid")


SAMPLES.update(
    {
        "webhooks.create": RouteSample(_webhooks_create),
        "webhooks.list": RouteSample(_webhooks_list, listed_ids=_webhooks_listed),
        "webhooks.get": RouteSample(_webhooks_get),
        "webhooks.update": RouteSample(_webhooks_update),
        "webhooks.delete": RouteSample(_webhooks_delete),
        "webhooks.test": RouteSample(_webhooks_test),
        "webhooks.rotate_secret": RouteSample(_webhooks_rotate),
        "webhooks.deliveries.list": RouteSample(_webhooks_deliveries),
        "webhooks.deliveries.redeliver": RouteSample(_webhooks_redeliver),
        "imports.create": RouteSample(_imports_create),
        "imports.list": RouteSample(_imports_list, listed_ids=_imports_listed),
        "imports.get": RouteSample(_imports_get),
        "imports.rows": RouteSample(_imports_rows),
    }
)

# (route, role) pairs the role table allows but a rule of the specification refuses: 403 FORBIDDEN
# from the service, and nothing changes
# (sign-off is the assigned mechanic's or an admin's, and the sample assigns the caller)
REFUSED_BY_RULE: Final[dict[tuple[str, Role], str]] = {}
