"""The table of every PATCH-able field of every resource: how to make a fresh object, and the values to PATCH.

Each value is read back from the API (another object's id or timestamp, as GET returns it), so
whatever type the database hands back on the way — asyncpg's UUID, timestamps, intervals — ends
up in the audit details. A nullable field goes from NULL to a value and back to NULL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import asyncpg

from amss.domain.enums import Role
from tests.api_support import Member, Tenant, call
from tests.clients import ApiClient
from tests.integration.factories import short_id, soon

# how an audit row shows a changed field: {"from", "to"}, or only the new value
Shown = Literal["from_to", "new_value"]
# the PATCH routes that are state transitions with bodies of their own, tested with their workflows
TRANSITIONS = frozenset(
    {
        "/api/v1/maintenance-tasks/{id}/state",
        "/api/v1/compliance-items/{id}/sign-off",
        "/api/v1/part-reservations/{id}/state",
    }
)


@dataclass
class World:
    """A tenant and objects made through the API whose read-back values the cases PATCH in."""

    api: ApiClient
    conn: asyncpg.Connection
    tenant: Tenant
    read: dict[str, Any] = field(default_factory=dict)

    def member(self, role: Role) -> Member:
        return self.tenant[role]

    async def post(self, path: str, body: dict[str, Any], role: Role = Role.SCHEDULER) -> dict[str, Any]:
        status, created, _ = await call(self.api, "POST", path, self.member(role), json=body)
        assert status == 201, (path, created)
        return created  # type: ignore[no-any-return]

    async def get(self, path: str, role: Role = Role.SCHEDULER) -> dict[str, Any]:
        status, body, _ = await call(self.api, "GET", path, self.member(role))
        assert status == 200, (path, body)
        return body  # type: ignore[no-any-return]


async def build_world(api: ApiClient, conn: asyncpg.Connection, tenant: Tenant) -> World:
    """Objects whose values, as GET returns them, the cases use."""
    world = World(api, conn, tenant)
    mechanics = await world.get("/api/v1/users?role=mechanic", Role.TENANT_ADMIN)
    other = await world.post(
        "/api/v1/users",
        {"email": f"second-{short_id()}@example.test", "role": "mechanic", "password": "a-long-password"},
        Role.TENANT_ADMIN,
    )
    world.read["mechanic_id"] = mechanics["items"][0]["id"]
    world.read["other_mechanic_id"] = (await world.get(f"/api/v1/users/{other['id']}", Role.TENANT_ADMIN))["id"]
    witness = await world.post("/api/v1/aircraft", {"tail_number": f"W{short_id()}", "model": "A320"})
    world.read["past_time"] = (await world.get(f"/api/v1/aircraft/{witness['id']}"))["created_at"]
    task = await world.post(
        "/api/v1/maintenance-tasks",
        {
            "aircraft_id": witness["id"],
            "type": "inspection",
            "start_time": soon(100).isoformat(),
            "end_time": soon(104).isoformat(),
        },
    )
    read_task = await world.get(f"/api/v1/maintenance-tasks/{task['id']}")
    world.read["future_start"], world.read["future_end"] = read_task["start_time"], read_task["end_time"]
    item = await world.post(
        "/api/v1/part-items",
        {
            "part_definition_id": (await world.post("/api/v1/part-definitions", {"name": f"w-{short_id()}"}))["id"],
            "serial_number": f"W-{short_id()}",
            "expiry_date": soon(24 * 400).isoformat(),
        },
    )
    world.read["far_expiry"] = (await world.get(f"/api/v1/part-items/{item['id']}"))["expiry_date"]
    return world


# --- making the object each case PATCHes ------------------------------------------------------


async def _aircraft(world: World) -> str:
    return str((await world.post("/api/v1/aircraft", {"tail_number": f"N{short_id()}", "model": "A320"}))["id"])


async def _aircraft_filled_in(world: World) -> str:
    """Every optional field given: a status other than the default, slots, both maintenance times."""
    body = {
        "tail_number": f"F{short_id()}",
        "model": "A320",
        "status": "maintenance",
        "capacity_slots": 2,
        "last_maintenance": world.read["past_time"],
        "next_due": world.read["future_start"],
    }
    return str((await world.post("/api/v1/aircraft", body))["id"])


async def _definition(world: World) -> str:
    return str((await world.post("/api/v1/part-definitions", {"name": f"def-{short_id()}", "category": "x"}))["id"])


async def _definition_left_out(world: World) -> str:
    return str((await world.post("/api/v1/part-definitions", {"name": f"def-{short_id()}"}))["id"])


async def _part_item_left_out(world: World) -> str:
    """An item without an expiry: GET shows `"expiry_date": null`."""
    body = {"part_definition_id": await _definition(world), "serial_number": f"SN-{short_id()}"}
    return str((await world.post("/api/v1/part-items", body))["id"])


async def _part_item(world: World) -> str:
    body = {
        "part_definition_id": await _definition(world),
        "serial_number": f"SN-{short_id()}",
        "expiry_date": soon(24 * 200).isoformat(),
    }
    return str((await world.post("/api/v1/part-items", body))["id"])


async def _task(world: World) -> str:
    """A task an hour into the witness task's window, on an aircraft of its own."""
    body = {
        "aircraft_id": await _aircraft(world),
        "type": "inspection",
        "start_time": soon(101).isoformat(),
        "end_time": soon(105).isoformat(),
    }
    return str((await world.post("/api/v1/maintenance-tasks", body))["id"])


async def _task_filled_in(world: World) -> str:
    body = {
        "aircraft_id": await _aircraft(world),
        "type": "inspection",
        "start_time": soon(101).isoformat(),
        "end_time": soon(105).isoformat(),
        "assigned_mechanic_id": world.read["mechanic_id"],
        "notes": "bring the borescope",
    }
    return str((await world.post("/api/v1/maintenance-tasks", body))["id"])


async def _compliance_item(world: World) -> str:
    body = {"task_id": await _task(world), "description": "torque check"}
    return str((await world.post("/api/v1/compliance-items", body, Role.ADMIN))["id"])


async def _program(world: World) -> str:
    body = {"name": f"prog-{short_id()}", "interval_type": "calendar", "interval_value": 30}
    return str((await world.post("/api/v1/maintenance-programs", body))["id"])


async def _program_filled_in(world: World) -> str:
    body = {
        "name": f"prog-{short_id()}",
        "interval_type": "flight_hours",
        "interval_value": 500,
        "aircraft_id": await _aircraft(world),
        "last_performed": world.read["past_time"],
        "last_performed_usage": 120,
    }
    return str((await world.post("/api/v1/maintenance-programs", body))["id"])


async def _user(world: World) -> str:
    body = {"email": f"patched-{short_id()}@example.test", "role": "mechanic", "password": "a-long-password"}
    return str((await world.post("/api/v1/users", body, Role.TENANT_ADMIN))["id"])


async def _webhook(world: World) -> str:
    body = {"url": f"http://127.0.0.1:9/hooks/{short_id()}", "events": ["task_created"]}
    return str((await world.post("/api/v1/webhooks", body, Role.TENANT_ADMIN))["id"])


async def _organization(world: World) -> str:
    return str(world.tenant.org_id)


Values = Callable[[World], list[Any]]


def _fixed(*values: Any) -> Values:
    return lambda _world: list(values)


def _read(*names: str | None) -> Values:
    return lambda world: [None if name is None else world.read[name] for name in names]


@dataclass(frozen=True)
class Resource:
    route: str  # the PATCH route template
    entity_type: str  # audit_logs.entity_type
    role: Role  # who PATCHes
    make: Callable[[World], Awaitable[str]]  # a fresh object: its id
    fields: dict[str, Values]
    shown: Shown = "from_to"
    # fields the response body does not carry (a password)
    hidden: frozenset[str] = frozenset()
    # read-only fields a change of the field may move along with it, audited from/to beside it
    # (an aircraft's status moves grounded_by: a person's grounding is recorded as manual)
    derived: dict[str, frozenset[str]] = field(default_factory=dict)
    # the object made the other way: optional fields filled in where `make` leaves them out (and
    # so null, or their default), or left out where `make` fills them in; None when it has none
    other_make: Callable[[World], Awaitable[str]] | None = None

    @property
    def makers(self) -> dict[str, Callable[[World], Awaitable[str]]]:
        """How to make a fresh object, by name: `make`, and `other_make` when there is one."""
        made = {"as made": self.make}
        if self.other_make is not None:
            made["made the other way"] = self.other_make
        return made

    def path(self, object_id: str) -> str:
        return self.route.replace("{id}", object_id)


RESOURCES: tuple[Resource, ...] = (
    Resource(
        "/api/v1/aircraft/{id}",
        "aircraft",
        Role.SCHEDULER,
        _aircraft,
        {
            "tail_number": lambda _world: [f"P{short_id()}"],
            "model": _fixed("B737-800", "A321neo"),
            "status": _fixed("grounded", "maintenance", "operational"),
            "capacity_slots": _fixed(3, 1),
            "last_maintenance": _read("past_time", None),
            "next_due": _read("future_start", "future_end", None),
        },
        derived={"status": frozenset({"grounded_by"})},
        other_make=_aircraft_filled_in,
    ),
    Resource(
        "/api/v1/part-definitions/{id}",
        "part_definition",
        Role.SCHEDULER,
        _definition,
        {"name": lambda _world: [f"renamed-{short_id()}"], "category": _fixed("hydraulics", "avionics")},
        other_make=_definition_left_out,
    ),
    Resource(
        "/api/v1/part-items/{id}",
        "part_item",
        Role.SCHEDULER,
        _part_item,
        {
            "serial_number": lambda _world: [f"SN2-{short_id()}"],
            "expiry_date": _read("far_expiry"),  # later only, never removed
            "status": _fixed("disposed"),
        },
        other_make=_part_item_left_out,
    ),
    Resource(
        "/api/v1/maintenance-tasks/{id}",
        "maintenance_task",
        Role.SCHEDULER,
        _task,
        {
            "type": _fixed("repair", "overhaul"),
            "start_time": _read("future_start"),
            "end_time": _read("future_end"),
            "assigned_mechanic_id": _read("mechanic_id", "other_mechanic_id", None),
            "notes": _fixed("bring the borescope", None),
        },
        other_make=_task_filled_in,
    ),
    Resource(
        "/api/v1/compliance-items/{id}",
        "compliance_item",
        Role.ADMIN,
        _compliance_item,
        {"description": _fixed("inspect the brake wear pins")},
    ),
    Resource(
        "/api/v1/maintenance-programs/{id}",
        "maintenance_program",
        Role.SCHEDULER,
        _program,
        {
            "name": lambda _world: [f"renamed-{short_id()}"],
            "interval_value": _fixed(45, 60),
            "last_performed": _read("past_time", None),
            "last_performed_usage": _fixed(120, None),
        },
        other_make=_program_filled_in,
    ),
    Resource(
        "/api/v1/users/{id}",
        "user",
        Role.TENANT_ADMIN,
        _user,
        {
            "email": lambda _world: [f"renamed-{short_id()}@example.test"],
            "role": _fixed("scheduler", "auditor"),
            "password": _fixed("another-long-password"),
        },
        shown="new_value",
        hidden=frozenset({"password"}),
    ),
    Resource(
        "/api/v1/webhooks/{id}",
        "webhook",
        Role.TENANT_ADMIN,
        _webhook,
        {
            "url": lambda _world: [f"https://hooks.example.com/{short_id()}", f"http://127.0.0.1:9/{short_id()}"],
            "events": _fixed(["part_reserved", "task_created"], ["webhook.test"]),
            "active": _fixed(False, True),
        },
    ),
    Resource(
        "/api/v1/organizations/{id}",
        "organization",
        Role.TENANT_ADMIN,
        _organization,
        {"name": lambda _world: [f"org-renamed-{short_id()}"]},
        shown="new_value",
    ),
    Resource(
        "/api/v1/organizations/{id}/policy",
        "org_policy",
        Role.TENANT_ADMIN,
        _organization,
        {
            "retention_interval": _fixed("P30D", "P90D"),
            "max_webhook_attempts": _fixed(7),
            "webhook_replay_window_seconds": _fixed(600),
            "api_rate_limit_per_min": _fixed(500_000),
            "api_key_rate_limit_per_min": _fixed(400_000),
            "rate_limits": _fixed({"read": 900_000, "write": 800_000}),
        },
        shown="new_value",
    ),
)
