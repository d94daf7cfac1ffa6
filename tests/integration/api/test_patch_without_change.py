"""A PATCH that changes nothing, on every PATCH route: 200 with the current object, the same version,
no audit row; a stale If-Match is still 412.

The routes are found, not listed: every `*.update` PATCH route the handler modules declare. The
request sends back, for every field of the route's body model, the non-null value a GET shows
(null in a PATCH means "clear it", and a field that cannot be cleared, such as a part item's
expiry, refuses it whatever the current value).
"""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from amss.domain.enums import Role
from tests.api_support import Tenant, call
from tests.clients import ApiClient
from tests.integration.api.route_samples import (
    SampleContext,
    code_of,
    declared_routes,
    raise_rate_limits,
    sample_for,
)

DECLARED = declared_routes()
UPDATE_ROUTES = sorted(name for name, spec in DECLARED.items() if spec.method == "PATCH" and name.endswith(".update"))


@pytest.fixture
async def home(conn: asyncpg.Connection, tenant: Tenant) -> Tenant:
    await raise_rate_limits(conn, tenant.org_id)
    return tenant


def test_every_resource_with_a_patch_is_covered() -> None:
    covered = {name.rsplit(".", 1)[0] for name in UPDATE_ROUTES}
    assert covered >= {
        "aircraft",
        "part_definitions",
        "part_items",
        "maintenance_tasks",
        "compliance_items",
        "maintenance_programs",
        "users",
        "organizations",
        "organizations.policy",
    }


async def _audit_rows(conn: asyncpg.Connection, home: Tenant) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM audit_logs WHERE org_id = $1", home.org_id)
    return count


@pytest.mark.parametrize("name", UPDATE_ROUTES)
async def test_sending_the_current_values_back_changes_nothing(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, name: str
) -> None:
    spec = DECLARED[name]
    assert spec.request_model is not None
    admin = home[Role.ADMIN]
    sample = await sample_for(name).build(SampleContext(conn, admin, home))
    status, current, _ = await call(api, "GET", sample.path, admin)
    assert status == 200, current
    body: dict[str, Any] = {
        field: current[field] for field in spec.request_model.model_fields if current.get(field) is not None
    }
    assert body, f"{name}: no field of the body is readable"
    audit_before = await _audit_rows(conn, home)
    version = current["version"]

    status, error, _ = await call(api, "PATCH", sample.path, admin, json=body, headers={"If-Match": f'"{version + 1}"'})
    assert (status, code_of(error)) == (412, "PRECONDITION_FAILED"), (name, error)
    for headers in ({}, {"If-Match": f'"{version}"'}):
        status, answered, _ = await call(api, "PATCH", sample.path, admin, json=body, headers=headers)
        assert status == 200, (name, body, answered)
        assert answered == current, name
    status, after, _ = await call(api, "GET", sample.path, admin)
    assert (status, after) == (200, current), name
    assert await _audit_rows(conn, home) == audit_before, name
