"""Hostile input on every route: NUL characters, out-of-range timestamps, forged cursors, huge If-Match.

Each is a 400 VALIDATION_ERROR in the documented error shape, naming the field, never a 500 (issue
9 items 3-5). The routes and their fields come from the route table, so a new route or field is
covered without a new test.
"""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

import asyncpg
import pytest

from amss.api.rest.routing import RouteSpec
from amss.domain.timestamps import YEAR_PATTERN
from tests.api_support import Member, Tenant, call
from tests.clients import ApiClient
from tests.integration.api.hostile_input_support import (
    IGNORES_IF_MATCH,
    NUL,
    OUT_OF_RANGE_TIMES,
    base_path,
    caller_of,
    date_time_schema,
    field_names,
    forged_cursor,
    forged_cursors,
    read_cursor,
    timestamp_fields,
    valid_request,
)
from tests.integration.api.route_samples import SampleContext, declared_routes, raise_rate_limits, sample_for
from tests.integration.factories import make_aircraft

ROUTES = declared_routes()
# JSON bodies (an upload's multipart body has its own tests: tests/integration/imports/test_upload_edges.py)
WITH_BODY = sorted(
    name
    for name, spec in ROUTES.items()
    if spec.request_model is not None and spec.request_media_type == "application/json"
)
ALL = sorted(ROUTES)
WITH_TIMESTAMPS = sorted(
    name for name, spec in ROUTES.items() if timestamp_fields(spec.request_model) or timestamp_fields(spec.query_model)
)
LISTS = sorted(name for name, spec in ROUTES.items() if spec.response_is_list)
VERSIONED = sorted(
    name for name, spec in ROUTES.items() if spec.method in ("PATCH", "DELETE") and name not in IGNORES_IF_MATCH
)


@pytest.fixture
async def home(conn: asyncpg.Connection, tenant: Tenant) -> Tenant:
    await raise_rate_limits(conn, tenant.org_id)
    return tenant


async def _send(api: ApiClient, method: str, path: str, member: Member | None, **kwargs: Any) -> tuple[int, Any]:
    status, body, _ = await call(api, method, path, member, **kwargs)
    return status, body


def _assert_refused(status: int, body: Any, field: str, what: str) -> None:
    assert status == 400, (what, status, body)
    assert isinstance(body, dict) and body.get("code") == "VALIDATION_ERROR", (what, body)
    assert {"error", "code", "request_id"} <= set(body), (what, body)
    assert field in body.get("details", {}).get("fields", {}), (what, field, body)


async def _prepared(conn: asyncpg.Connection, home: Tenant, name: str) -> tuple[RouteSpec, Member | None, Any]:
    spec = ROUTES[name]
    member = caller_of(spec, home)
    ctx = SampleContext(conn, member, home) if member is not None else None
    return spec, member, await valid_request(spec, ctx)


# --- NUL characters -----------------------------------------------------------------------------


@pytest.mark.parametrize("route", WITH_BODY)
async def test_nul_in_any_body_field_is_400_naming_it(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, route: str
) -> None:
    spec, member, request = await _prepared(conn, home, route)
    base = request.json if isinstance(request.json, dict) else {}
    for field in field_names(spec.request_model):
        status, body = await _send(api, spec.method, request.path, member, json={**base, field: NUL})
        _assert_refused(status, body, field, f"{route} {field}")
    status, body = await _send(api, spec.method, request.path, member, json={**base, "odd\x00key": 1})
    _assert_refused(status, body, "odd\\u0000key", f"{route} key")
    nested = {**base, "deep": [{"inner": ["fine", NUL]}]}
    status, body = await _send(api, spec.method, request.path, member, json=nested)
    _assert_refused(status, body, "deep.0.inner.1", f"{route} nested")


@pytest.mark.parametrize("route", ALL)
async def test_nul_in_any_query_parameter_is_400_naming_it(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, route: str
) -> None:
    spec, member, request = await _prepared(conn, home, route)
    parameters = [*field_names(spec.query_model), "unlisted"]
    if spec.response_is_list:
        parameters += ["limit", "cursor", "sort"]
    for parameter in parameters:
        path = f"{base_path(request)}?{parameter}={quote(NUL)}"
        status, body = await _send(api, spec.method, path, member, json=request.json)
        _assert_refused(status, body, parameter, f"{route} ?{parameter}")
    status, body = await _send(api, spec.method, f"{base_path(request)}?{quote(NUL)}=1", member, json=request.json)
    _assert_refused(status, body, "a\\u0000b", f"{route} NUL in a parameter name")


async def test_login_with_nul_in_email_is_400(api: ApiClient) -> None:
    status, body = await _send(
        api, "POST", "/api/v1/auth/login", None, json={"email": "a\x00b@x.dev", "password": "a-long-password"}
    )
    _assert_refused(status, body, "email", "login")


# --- timestamps out of the accepted range ------------------------------------------------------


@pytest.mark.parametrize("route", WITH_TIMESTAMPS)
async def test_out_of_range_timestamp_is_400_naming_the_field(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, route: str
) -> None:
    spec, member, request = await _prepared(conn, home, route)
    base = request.json if isinstance(request.json, dict) else {}
    for field in timestamp_fields(spec.request_model):
        for value in OUT_OF_RANGE_TIMES:
            status, body = await _send(api, spec.method, request.path, member, json={**base, field: value})
            _assert_refused(status, body, field, f"{route} {field}={value}")
    for field in timestamp_fields(spec.query_model):
        for value in OUT_OF_RANGE_TIMES:
            path = f"{base_path(request)}?{field}={quote(value)}"
            status, body = await _send(api, spec.method, path, member, json=request.json)
            _assert_refused(status, body, field, f"{route} ?{field}={value}")


@pytest.mark.parametrize("route", sorted(n for n in WITH_TIMESTAMPS if timestamp_fields(ROUTES[n].query_model)))
async def test_filters_at_the_range_bounds_are_accepted(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, route: str
) -> None:
    spec, member, request = await _prepared(conn, home, route)
    for field in timestamp_fields(spec.query_model):
        for value in ("1900-01-01T00:00:00Z", "2200-12-31T23:59:59.999999Z", "2200-12-31T22:00:00-01:00"):
            status, body = await _send(api, spec.method, f"{base_path(request)}?{field}={quote(value)}", member)
            assert status == 200, (route, field, value, status, body)


def test_every_request_timestamp_documents_the_range() -> None:
    """One shared type: every date-time a request takes carries the year pattern and says the range."""
    for spec in ROUTES.values():
        for model in (spec.request_model, spec.query_model):
            if model is None:
                continue
            properties = model.model_json_schema(by_alias=True).get("properties", {})
            for name, schema in properties.items():
                date_time = date_time_schema(schema)
                if date_time is None:
                    continue
                assert date_time.get("pattern") == YEAR_PATTERN, (spec.name, name, date_time)
                assert "1900-01-01T00:00:00Z" in date_time.get("description", ""), (spec.name, name, date_time)


# --- forged cursors -----------------------------------------------------------------------------


@pytest.mark.parametrize("route", LISTS)
async def test_forged_cursor_is_400_naming_cursor(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, route: str
) -> None:
    _, member, request = await _prepared(conn, home, route)
    listed = sample_for(route).listed_ids
    if listed is not None:
        await listed(conn, home)
    status, page = await _send(api, "GET", f"{base_path(request)}?limit=1", member)
    assert status == 200 and page["next_cursor"], (route, status, page)
    sort = read_cursor(page["next_cursor"])[0]
    status, page = await _send(api, "GET", f"{base_path(request)}?limit=1&cursor={page['next_cursor']}", member)
    assert status == 200, (route, "an issued cursor still works", page)
    for what, cursor in forged_cursors(sort):
        status, body = await _send(api, "GET", f"{base_path(request)}?cursor={cursor}", member)
        _assert_refused(status, body, "cursor", f"{route} {what}")


@pytest.mark.parametrize(
    ("path", "sort", "value"),
    [
        ("/api/v1/users", "role", "not-a-role"),
        ("/api/v1/users", "email", 12),
        ("/api/v1/aircraft", "tail_number", ["t", "2026-01-01T00:00:00Z"]),
        ("/api/v1/part-items", "serial_number", 1e30),
        ("/api/v1/maintenance-tasks", "-start_time", "9999-12-31T23:00:00-01:00"),
    ],
)
async def test_forged_cursor_of_another_sort_column_type_is_400(
    api: ApiClient, home: Tenant, path: str, sort: str, value: Any
) -> None:
    tag = "t" if sort.lstrip("-") == "start_time" else "v"
    cursor = forged_cursor([sort, value if isinstance(value, list) else [tag, value], str(uuid.uuid4())])
    status, body = await _send(api, "GET", f"{path}?sort={sort}&cursor={cursor}", home["admin"])
    _assert_refused(status, body, "cursor", f"{path} {sort} {value!r}")


# --- If-Match -----------------------------------------------------------------------------------


@pytest.mark.parametrize("route", VERSIONED)
async def test_if_match_beyond_the_version_range_is_400(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant, route: str
) -> None:
    spec, member, request = await _prepared(conn, home, route)
    for value in ('"99999999999999999999"', "2147483648", '"²"', '"1e3"', '"-1"'):
        status, body = await _send(
            api, spec.method, request.path, member, json=request.json, headers={"If-Match": value}
        )
        _assert_refused(status, body, "If-Match", f"{route} If-Match {value}")


@pytest.mark.parametrize("value", ["0", "²", "99999999999999999999", "1e3"])
async def test_limit_must_be_ascii_digits_in_range(api: ApiClient, home: Tenant, value: str) -> None:
    status, body = await _send(api, "GET", f"/api/v1/aircraft?limit={quote(value)}", home["admin"])
    _assert_refused(status, body, "limit", value)


async def test_a_task_at_the_end_of_the_range_is_created_and_cancelled(
    api: ApiClient, conn: asyncpg.Connection, home: Tenant
) -> None:
    aircraft_id = await make_aircraft(conn, home.org_id)
    body = {
        "aircraft_id": str(aircraft_id),
        "type": "inspection",
        "start_time": "2200-12-31T18:00:00-01:00",
        "end_time": "2200-12-31T23:59:59.999999Z",
    }
    status, task = await _send(api, "POST", "/api/v1/maintenance-tasks", home["scheduler"], json=body)
    assert status == 201, task
    assert (task["start_time"], task["end_time"]) == ("2200-12-31T19:00:00Z", "2200-12-31T23:59:59.999999Z")
    path = f"/api/v1/maintenance-tasks/{task['id']}/state"
    status, cancelled = await _send(api, "PATCH", path, home["scheduler"], json={"state": "cancelled"})
    assert (status, cancelled["state"]) == (200, "cancelled"), cancelled
