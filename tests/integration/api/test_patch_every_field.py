"""Every PATCH-able field of every resource, with the mesh on and off: 200, the new value, a clean audit row.

The values come back from the API (ids, timestamps, intervals as GET renders them) and go from
NULL to a value and back where the field is nullable, so a value type the database returns
that the audit details cannot hold is a failing case here, not a dead-lettered command.
"""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from aiohttp import web

from amss.api.rest.routing import ROUTE_SPECS
from tests.api_support import Tenant, call
from tests.clients import ApiClient
from tests.integration.api.patch_table import RESOURCES, TRANSITIONS, Resource, World, build_world
from tests.integration.api.route_samples import raise_rate_limits

_BY_ROUTE = {resource.route: resource for resource in RESOURCES}


def test_the_table_covers_every_field_of_every_patch_body(api_app: web.Application) -> None:
    """A new PATCH route or a new field of a PATCH body fails here until it has its case."""
    patchable = {
        (spec.path, name)
        for spec in api_app[ROUTE_SPECS].values()
        if spec.method == "PATCH" and spec.path not in TRANSITIONS
        for name in (spec.request_model.model_fields if spec.request_model is not None else ["<no body model>"])
    }
    covered = {(resource.route, name) for resource in RESOURCES for name in resource.fields}
    assert patchable == covered
    assert all(resource.fields[name] for resource in RESOURCES for name in resource.fields)


async def _audit_row(conn: asyncpg.Connection, resource: Resource, object_id: str, version: int) -> Any:
    row = await conn.fetchrow(
        "SELECT action::text AS action, details, details::text AS text FROM audit_logs"
        " WHERE entity_type = $1 AND entity_id = $2 AND entity_version = $3 AND action IN ('update', 'state_change')",
        resource.entity_type,
        uuid.UUID(object_id),
        version,
    )
    assert row is not None, f"no audit row for {resource.entity_type} {object_id} version {version}"
    return row


async def _patch_every_field(world: World, resource: Resource) -> None:
    member = world.member(resource.role)
    for name, values in resource.fields.items():
        object_id = await resource.make(world)
        before = await world.get(resource.path(object_id), resource.role)
        for value in values(world):
            case = f"{resource.route} {name} {before.get(name)!r} -> {value!r}"
            status, after, _ = await call(world.api, "PATCH", resource.path(object_id), member, json={name: value})
            assert status == 200, (case, after)
            if name not in resource.hidden:
                assert after[name] == value, case
            assert after["version"] == before["version"] + 1, case
            row = await _audit_row(world.conn, resource, object_id, after["version"])
            changes = row["details"]["changes"]
            moved = {extra for extra in resource.derived.get(name, frozenset()) if before[extra] != after[extra]}
            assert set(changes) == {name} | moved, (case, changes)
            for extra in moved:
                assert changes[extra] == {"from": before[extra], "to": after[extra]}, case
            if resource.shown == "from_to":
                assert changes[name] == {"from": before[name], "to": after[name]}, case
            elif name in resource.hidden:
                assert changes[name] == "changed", case
            else:
                assert changes[name] == after[name], case
            before = after


async def _world(api: ApiClient, conn: asyncpg.Connection, tenant: Tenant) -> World:
    await raise_rate_limits(conn, tenant.org_id)
    return await build_world(api, conn, tenant)


@pytest.mark.parametrize("route", sorted(_BY_ROUTE))
async def test_patch_every_field_mesh_off(route: str, api: ApiClient, conn: asyncpg.Connection, tenant: Tenant) -> None:
    await _patch_every_field(await _world(api, conn, tenant), _BY_ROUTE[route])


@pytest.mark.parametrize("route", sorted(_BY_ROUTE))
async def test_patch_every_field_mesh_on(
    route: str, mesh_api: ApiClient, conn: asyncpg.Connection, crew: Tenant
) -> None:
    await _patch_every_field(await _world(mesh_api, conn, crew), _BY_ROUTE[route])
