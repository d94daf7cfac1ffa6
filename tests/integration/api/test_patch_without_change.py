"""A PATCH that sends back what GET shows changes nothing, on every PATCH route: 200 with the current
object, the same version, no audit row; a stale If-Match is still 412.

The routes and how to make their objects come from the PATCH table (patch_table.RESOURCES, which
test_patch_every_field checks against the routes the application registers). Each object is made
twice where its resource has optional fields — left out (so GET shows null or the default) and
filled in — and the read-back body goes back whole, restricted to the PATCH model's fields, nulls
included, and then field by field. Mesh on and off.
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from aiohttp import web

from amss.api.rest.routing import ROUTE_SPECS
from tests.api_support import Tenant, call
from tests.clients import ApiClient
from tests.integration.api.patch_table import RESOURCES, Resource, World, build_world
from tests.integration.api.route_samples import code_of, raise_rate_limits

CASES = sorted((resource.route, made) for resource in RESOURCES for made in resource.makers)
_BY_ROUTE = {resource.route: resource for resource in RESOURCES}


def test_a_resource_with_optional_fields_is_also_made_the_other_way() -> None:
    """Objects with nulls in them are the case that slipped through before: they must be made."""
    with_nulls = {"/api/v1/aircraft/{id}", "/api/v1/part-items/{id}", "/api/v1/maintenance-tasks/{id}"}
    assert with_nulls <= {resource.route for resource in RESOURCES if resource.other_make is not None}


def _patch_model_fields(api_app: web.Application, route: str) -> list[str]:
    [spec] = [spec for spec in api_app[ROUTE_SPECS].values() if spec.method == "PATCH" and spec.path == route]
    assert spec.request_model is not None
    return list(spec.request_model.model_fields)


async def _audit_rows(conn: asyncpg.Connection, tenant: Tenant) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM audit_logs WHERE org_id = $1", tenant.org_id)
    return count


async def _send_back_unchanged(world: World, resource: Resource, made: str, fields: list[str]) -> None:
    member = world.member(resource.role)
    path = resource.path(await resource.makers[made](world))
    current = await world.get(path, resource.role)
    body: dict[str, Any] = {name: current[name] for name in fields if name in current}  # nulls included
    assert body, f"{resource.route}: no field of the body is readable"
    audit_before = await _audit_rows(world.conn, world.tenant)
    version = current["version"]
    case = f"{resource.route} {made}"

    stale = {"If-Match": f'"{version + 1}"'}
    status, error, _ = await call(world.api, "PATCH", path, member, json=body, headers=stale)
    assert (status, code_of(error)) == (412, "PRECONDITION_FAILED"), (case, error)
    requests = [(body, {}), (body, {"If-Match": f'"{version}"'})]
    requests += [({name: value}, {}) for name, value in body.items()]
    for sent, headers in requests:
        status, answered, _ = await call(world.api, "PATCH", path, member, json=sent, headers=headers)
        assert status == 200, (case, sent, answered)
        assert answered == current, (case, sent)
    assert await world.get(path, resource.role) == current, case
    assert await _audit_rows(world.conn, world.tenant) == audit_before, case


async def _world(api: ApiClient, conn: asyncpg.Connection, tenant: Tenant) -> World:
    await raise_rate_limits(conn, tenant.org_id)
    return await build_world(api, conn, tenant)


@pytest.mark.parametrize(("route", "made"), CASES)
async def test_sending_the_read_back_values_changes_nothing_mesh_off(
    api: ApiClient, api_app: web.Application, conn: asyncpg.Connection, tenant: Tenant, route: str, made: str
) -> None:
    world = await _world(api, conn, tenant)
    await _send_back_unchanged(world, _BY_ROUTE[route], made, _patch_model_fields(api_app, route))


@pytest.mark.parametrize(("route", "made"), CASES)
async def test_sending_the_read_back_values_changes_nothing_mesh_on(
    mesh_api: ApiClient, mesh_app: web.Application, conn: asyncpg.Connection, crew: Tenant, route: str, made: str
) -> None:
    world = await _world(mesh_api, conn, crew)
    await _send_back_unchanged(world, _BY_ROUTE[route], made, _patch_model_fields(mesh_app, route))
