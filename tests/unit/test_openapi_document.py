"""The OpenAPI document generated from the route table: complete, self-contained, and true to each RouteSpec."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from pydantic import BaseModel, ConfigDict

import amss
from amss.api.rest import openapi
from amss.api.rest.openapi import OPENAPI_PATH, build_openapi
from amss.api.rest.routing import ROUTE_SPECS, RouteSpec, add_routes
from amss.app.error_codes import ERROR_CODES, codes_with_http_status
from amss.auth.rbac import Action, Resource, is_allowed
from amss.bootstrap.server import init_server_app
from amss.config import load_settings
from amss.domain.enums import Role
from tests.openapi_support import (
    documented_operations,
    operation_named,
    operations,
    parameters_of,
    refs_in,
    resolve,
    routed_operations,
)

_COMPONENT_NAME = re.compile(r"^[a-zA-Z0-9._-]+$")
_STATUS = re.compile(r"^[1-5][0-9][0-9]$")
_OPERATION_KEYS = {"operationId", "summary", "tags", "parameters", "requestBody", "responses", "security", "x-amss"}
_PROBES = ("health", "ready", "metrics")


@pytest.fixture(scope="module")
def app() -> web.Application:
    return init_server_app(load_settings({}))


@pytest.fixture(scope="module")
def document(app: web.Application) -> dict[str, Any]:
    return build_openapi(app)


def _specs(app: web.Application) -> list[RouteSpec]:
    return list(app[ROUTE_SPECS].values())


def test_document_is_openapi_3_1_for_amss_with_a_bearer_jwt_scheme(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] == "AMSS"
    assert document["info"]["version"] == amss.__version__
    assert document["servers"] and all("url" in server for server in document["servers"])
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
    }


def test_every_routed_method_is_documented_and_nothing_else(app: web.Application, document: dict[str, Any]) -> None:
    assert routed_operations(app) == documented_operations(document)
    assert ("GET", OPENAPI_PATH) in documented_operations(document)
    assert {("GET", f"/{probe}") for probe in _PROBES} <= documented_operations(document)


def test_the_comparison_notices_a_route_the_document_misses() -> None:
    app = init_server_app(load_settings({}))

    async def undocumented(_: web.Request) -> web.Response:
        return web.Response()

    app.router.add_route("PUT", "/api/v1/undocumented/{id}", undocumented)
    assert routed_operations(app) - documented_operations(build_openapi(app)) == {("PUT", "/api/v1/undocumented/{id}")}


def test_probes_are_documented_only_when_registered() -> None:
    document = build_openapi(init_server_app(load_settings({}, prometheus_enabled=False)))
    assert "/metrics" not in document["paths"]
    assert {"/health", "/ready"} <= set(document["paths"])


def test_operation_ids_are_the_route_names(app: web.Application, document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]
    assert len(ids) == len(set(ids))
    named = {route.name: (route.method, route.resource.canonical) for route in app.router.routes() if route.resource}
    for method, path, operation in operations(document):
        assert named[operation["operationId"]] == (method, path)


def test_every_reference_resolves_inside_the_document(document: dict[str, Any]) -> None:
    references = set(refs_in(document))
    assert "#/components/schemas/Error" in references
    for reference in references:
        resolve(document, {"$ref": reference})


def test_every_component_is_used(document: dict[str, Any]) -> None:
    references = set(refs_in(document))
    for kind in ("schemas", "responses", "headers", "parameters"):
        for name in document["components"][kind]:
            assert f"#/components/{kind}/{name}" in references, f"{kind}/{name} is never referenced"


def test_document_is_structurally_valid_openapi(document: dict[str, Any]) -> None:
    assert set(document) == {"openapi", "info", "servers", "tags", "paths", "components"}
    declared_tags = {tag["name"] for tag in document["tags"]}
    schemes = set(document["components"]["securitySchemes"])
    for kind, components in document["components"].items():
        for name in components:
            assert _COMPONENT_NAME.match(name), f"components.{kind}.{name}"
    for method, path, operation in operations(document):
        where = f"{method} {path}"
        assert path.startswith("/"), where
        assert set(operation) <= _OPERATION_KEYS, where
        assert operation["summary"] and operation["responses"], where
        assert set(operation["tags"]) <= declared_tags, where
        for requirement in operation["security"]:
            assert set(requirement) <= schemes, where
        for status, response in operation["responses"].items():
            assert _STATUS.match(status), where
            assert resolve(document, response)["description"], where
        parameters = parameters_of(document, operation)
        for (location, name), parameter in parameters.items():
            assert location in {"path", "query", "header", "cookie"}, where
            assert "schema" in parameter, f"{where}: {name}"
        templated = set(re.findall(r"\{([^{}]+)\}", path))
        assert templated == {name for location, name in parameters if location == "path"}, where
        assert all(parameters[("path", name)]["required"] is True for name in templated), where
        if "requestBody" in operation:
            assert method in {"POST", "PUT", "PATCH"}, where


def test_error_responses_all_use_the_one_error_schema(document: dict[str, Any]) -> None:
    error = document["components"]["schemas"]["Error"]
    assert error["required"] == ["error", "code", "request_id"]
    assert "VALIDATION_ERROR" in error["properties"]["code"]["enum"]
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                content = resolve(document, response)["content"]
                assert content == {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}, (
                    f"{method} {path} {status}"
                )
                assert response["$ref"].startswith("#/components/responses/")


def test_each_error_status_is_described_by_the_one_error_table(document: dict[str, Any]) -> None:
    """Its codes and their one-line meanings, from amss/app/error_codes.py: no second copy of what a status means."""
    seen = set()
    for _, _, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                codes = codes_with_http_status(int(status))
                assert codes, status
                expected = "; ".join(f"{code}: {ERROR_CODES[code].description}" for code in codes)
                assert resolve(document, response)["description"] == expected
                seen.add(int(status))
    assert {400, 401, 403, 404, 409, 429, 500} <= seen


def _statuses(document: dict[str, Any], name: str) -> set[int]:
    return {int(status) for status in operation_named(document, name)["responses"]}


def test_error_responses_are_those_the_route_can_give(app: web.Application, document: dict[str, Any]) -> None:
    for spec in _specs(app):
        statuses = _statuses(document, spec.name)
        protected = spec.permission is not None
        assert {500, 503} <= statuses, spec.name
        assert (403 in statuses) is protected, spec.name
        assert (401 in statuses) is (protected or spec.category == "auth"), spec.name
        assert (412 in statuses) is (spec.method in ("PATCH", "DELETE")), spec.name
        assert (415 in statuses) is (spec.request_model is not None), spec.name
        assert (429 in statuses) is (spec.category is not None), spec.name
        if "{id}" in spec.path:
            assert 404 in statuses, spec.name
    assert _statuses(document, "auth.jwks") == {200, 500, 503}
    assert _statuses(document, "meta.openapi") == {200, 500, 503}
    assert {400, 401, 403, 404, 409, 412, 413, 415, 429} <= _statuses(document, "users.update")
    assert 409 not in _statuses(document, "users.get")


def test_success_responses_follow_the_declared_status(app: web.Application, document: dict[str, Any]) -> None:
    for spec in _specs(app):
        success = operation_named(document, spec.name)["responses"][str(spec.status)]
        assert "X-Request-ID" in success["headers"], spec.name
        assert ("content" in success) is (spec.status != 204), spec.name
        assert ("Location" in success["headers"]) is (spec.status in (201, 202)), spec.name
        if spec.category is not None:
            assert "RateLimit-Remaining" in success["headers"], spec.name
    too_many = document["components"]["responses"]["TooManyRequests"]
    assert "Retry-After" in too_many["headers"]


def test_response_and_request_models_are_components(document: dict[str, Any]) -> None:
    created = operation_named(document, "users.create")
    assert created["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/UserCreate"
    }
    schema = created["responses"]["201"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/UserOut"}
    user_out = document["components"]["schemas"]["UserOut"]
    assert user_out["properties"]["id"]["format"] == "uuid"
    assert user_out["properties"]["role"] == {"$ref": "#/components/schemas/Role"}
    assert "$defs" not in str(document)
    assert document["components"]["schemas"]["UserCreate"]["additionalProperties"] is False


def test_list_routes_take_limit_cursor_sort_and_answer_a_page(app: web.Application, document: dict[str, Any]) -> None:
    lists = [spec for spec in _specs(app) if spec.response_is_list]
    assert lists
    for spec in lists:
        operation = operation_named(document, spec.name)
        parameters = parameters_of(document, operation)
        assert {("query", "limit"), ("query", "cursor"), ("query", "sort")} <= set(parameters), spec.name
        assert parameters[("query", "limit")]["schema"]["maximum"] == 200
        page = operation["responses"]["200"]["content"]["application/json"]["schema"]
        assert page["required"] == ["items", "next_cursor"]
        assert page["properties"]["next_cursor"] == {"type": ["string", "null"]}
        assert page["properties"]["items"]["items"]["$ref"].startswith("#/components/schemas/")


def test_query_model_fields_become_query_parameters(document: dict[str, Any]) -> None:
    parameters = parameters_of(document, operation_named(document, "users.list"))
    assert parameters[("query", "role")] == {
        "name": "role",
        "in": "query",
        "required": False,
        "schema": {"$ref": "#/components/schemas/Role"},
    }
    assert parameters[("query", "email")]["schema"] == {"type": "string", "maxLength": 254}
    assert "UserQuery" not in document["components"]["schemas"]


def test_headers_follow_the_route(app: web.Application, document: dict[str, Any]) -> None:
    for spec in _specs(app):
        headers = {
            name
            for location, name in parameters_of(document, operation_named(document, spec.name))
            if location == "header"
        }
        assert "X-Request-ID" in headers, spec.name
        assert ("X-Org-ID" in headers) is (spec.permission is not None), spec.name
        assert ("Idempotency-Key" in headers) is spec.idempotent, spec.name
        assert ("If-Match" in headers) is (spec.method in ("PATCH", "DELETE")), spec.name
        assert ("Prefer" in headers) is spec.asynchronous, spec.name


def test_security_is_bearer_exactly_for_protected_routes(app: web.Application, document: dict[str, Any]) -> None:
    for spec in _specs(app):
        security = operation_named(document, spec.name)["security"]
        assert security == ([{"bearerAuth": []}] if spec.permission else []), spec.name
    for probe in _PROBES:
        assert operation_named(document, probe)["security"] == []


def test_x_amss_names_permission_roles_category_and_idempotency(app: web.Application, document: dict[str, Any]) -> None:
    for spec in _specs(app):
        extension = operation_named(document, spec.name)["x-amss"]
        assert extension["admin_only"] is spec.admin_only
        assert extension["rate_limit_category"] == spec.category
        assert extension["idempotent"] is spec.idempotent
        if spec.permission is None:
            assert extension["permission"] is None and extension["roles"] is None
            continue
        resource, action = spec.permission
        assert extension["permission"] == {"resource": resource.value, "action": action.value}
        allowed = [role.value for role in Role if is_allowed(role, resource, action)]
        assert extension["roles"] == (["admin"] if spec.admin_only else allowed), spec.name


@pytest.mark.parametrize(
    ("name", "roles"),
    [
        ("users.create", ["admin", "tenant_admin"]),
        ("users.get", ["admin", "tenant_admin", "scheduler", "mechanic", "auditor"]),
        ("organizations.create", ["admin"]),
        ("organizations.policy.update", ["admin", "tenant_admin"]),
        ("organizations.policy.get", ["admin", "tenant_admin", "auditor"]),
    ],
)
def test_x_amss_roles_of_sample_routes(document: dict[str, Any], name: str, roles: list[str]) -> None:
    assert operation_named(document, name)["x-amss"]["roles"] == roles


# --- mechanics no route exercises yet ----------------------------------------------------------


class _Window(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start_from: str
    limit_hint: int | None = None


class _Thing(BaseModel):
    id: str


async def _never(_: web.Request) -> web.Response:
    raise AssertionError("not called")


def _synthetic_document() -> dict[str, Any]:
    app = web.Application()
    add_routes(
        app,
        [
            RouteSpec(
                "POST",
                "/api/v1/things/{id}/start",
                _never,
                "things.start",
                "Start a thing",
                (Resource.MAINTENANCE_TASKS, Action.TRANSITION),
                "write",
                idempotent=True,
                asynchronous=True,
                response_model=_Thing,
            ),
            RouteSpec(
                "GET",
                "/api/v1/things",
                _never,
                "things.list",
                "List things",
                (Resource.MAINTENANCE_TASKS, Action.READ),
                "read",
                query_model=_Window,
                response_model=_Thing,
                response_is_list=True,
            ),
        ],
    )
    return build_openapi(app)


def test_asynchronous_route_documents_202_with_the_command_location() -> None:
    document = _synthetic_document()
    operation = operation_named(document, "things.start")
    accepted = operation["responses"]["202"]
    assert accepted["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/CommandAccepted"}
    assert "Location" in accepted["headers"]
    assert ("header", "Prefer") in parameters_of(document, operation)
    assert operation["x-amss"]["roles"] == ["admin", "scheduler", "mechanic"]
    assert operation["tags"] == ["default"]


def test_required_query_fields_are_required_parameters() -> None:
    document = _synthetic_document()
    parameters = parameters_of(document, operation_named(document, "things.list"))
    assert parameters[("query", "start_from")]["required"] is True
    assert parameters[("query", "limit_hint")] == {
        "name": "limit_hint",
        "in": "query",
        "required": False,
        "schema": {"type": "integer"},
    }


def test_a_model_named_like_a_document_schema_is_refused() -> None:
    class Error(BaseModel):
        message: str

    app = web.Application()
    add_routes(app, [RouteSpec("GET", "/x", _never, "x", "x", None, None, response_model=Error)])
    with pytest.raises(ValueError, match="Error"):
        build_openapi(app)


async def test_the_served_document_is_built_once_per_app(monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[web.Application] = []

    def counting_build(app: web.Application) -> dict[str, Any]:
        builds.append(app)
        return {"openapi": "3.1.0", "built": len(builds)}

    monkeypatch.setattr(openapi, "build_openapi", counting_build)
    handler = openapi.openapi_routes()[0].handler
    first, second = web.Application(), web.Application()
    bodies = []
    for app in (first, first, second, second):
        response = await handler(make_mocked_request("GET", OPENAPI_PATH, app=app))
        assert isinstance(response, web.Response)
        bodies.append(response.body)
    assert builds == [first, second]
    assert bodies[0] == bodies[1] != bodies[2] == bodies[3]


# --- as strict as the API: what a generator builds from the document, the API accepts ------------


def _body_schema(document: dict[str, Any], operation_id: str) -> dict[str, Any]:
    """The request body's schema, whichever its one media type (JSON, or multipart/form-data for an upload)."""
    operation = operation_named(document, operation_id)
    (content,) = operation["requestBody"]["content"].values()
    return resolve(document, content["schema"])


def test_sort_is_an_enum_of_the_route_s_sortable_fields(app: web.Application, document: dict[str, Any]) -> None:
    for spec in _specs(app):
        if not spec.response_is_list:
            continue
        assert spec.sorts, f"{spec.name} declares no sortable fields"
        sort = parameters_of(document, operation_named(document, spec.name))[("query", "sort")]
        assert sort["schema"]["enum"] == [*sorted(spec.sorts), *(f"-{field}" for field in sorted(spec.sorts))]
    sort = parameters_of(document, operation_named(document, "aircraft.list"))[("query", "sort")]
    assert {"tail_number", "-created_at"} <= set(sort["schema"]["enum"])


def test_every_request_body_is_closed(app: web.Application, document: dict[str, Any]) -> None:
    for spec in _specs(app):
        if spec.request_model is not None:
            assert _body_schema(document, spec.name)["additionalProperties"] is False, spec.name


def test_patch_bodies_allow_null_only_for_fields_that_can_be_cleared(
    app: web.Application, document: dict[str, Any]
) -> None:
    def nullable(operation_id: str) -> set[str]:
        properties = _body_schema(document, operation_id)["properties"]
        return {name for name, prop in properties.items() if {"type": "null"} in prop.get("anyOf", [])}

    assert nullable("aircraft.update") == {"last_maintenance", "next_due"}
    assert nullable("maintenance_tasks.update") == {"assigned_mechanic_id", "notes"}
    assert nullable("maintenance_programs.update") == {"last_performed", "last_performed_usage"}
    for operation_id in ("users.update", "part_items.update", "part_definitions.update", "organizations.policy.update"):
        assert nullable(operation_id) == set(), operation_id
    # a create's optional field may still be sent as null
    assert {"type": "null"} in _body_schema(document, "maintenance_tasks.create")["properties"]["notes"]["anyOf"]


def test_numbers_carry_the_bounds_the_api_and_the_database_enforce(document: dict[str, Any]) -> None:
    int4 = 2**31 - 1
    aircraft = _body_schema(document, "aircraft.create")["properties"]
    assert (aircraft["capacity_slots"]["minimum"], aircraft["capacity_slots"]["maximum"]) == (1, int4)
    usage = _body_schema(document, "aircraft.usage")
    assert usage["minProperties"] == 1
    for name in ("flight_hours", "cycles"):
        bounds = usage["properties"][name]
        assert (bounds["type"], bounds["minimum"], bounds["maximum"]) == ("integer", 0, int4)
    reservation = _body_schema(document, "part_reservations.create")["properties"]["quantity"]
    assert (reservation["minimum"], reservation["maximum"]) == (1, 1)
    policy = _body_schema(document, "organizations.policy.update")["properties"]
    assert (policy["max_webhook_attempts"]["minimum"], policy["max_webhook_attempts"]["maximum"]) == (1, 100)
    assert policy["api_rate_limit_per_min"]["maximum"] == 1_000_000
    limits = policy["rate_limits"]
    assert limits["additionalProperties"] == {"type": "integer", "minimum": 1, "maximum": 1_000_000}
    assert limits["propertyNames"] == {"enum": ["auth", "read", "write", "import", "export"]}
    limit = parameters_of(document, operation_named(document, "users.list"))[("query", "limit")]["schema"]
    assert (limit["minimum"], limit["maximum"]) == (1, 200)


def test_strings_carry_formats_lengths_and_enums(document: dict[str, Any]) -> None:
    user = _body_schema(document, "users.create")["properties"]
    assert user["email"]["format"] == "email"
    assert user["email"]["maxLength"] == 254
    assert "pattern" in user["email"]
    assert (user["password"]["minLength"], user["password"]["maxLength"]) == (12, 18)
    assert _body_schema(document, "compliance_items.sign_off")["properties"]["result"]["enum"] == ["pass", "fail"]
    assert _body_schema(document, "organizations.update")["minProperties"] == 1
    key = resolve(document, {"$ref": "#/components/parameters/Idempotency-Key"})["schema"]
    assert key["pattern"] == "^[!-~]{1,255}$"
    for operation_id, name in (("aircraft.create", "tail_number"), ("part_definitions.create", "name")):
        assert _body_schema(document, operation_id)["properties"][name]["maxLength"] > 0


def test_the_csv_export_documents_text_csv(document: dict[str, Any]) -> None:
    ok = operation_named(document, "audit_logs.export")["responses"]["200"]
    assert ok["content"] == {"text/csv": {"schema": {"type": "string"}}}


def test_the_upload_is_a_closed_multipart_form_of_type_and_file(document: dict[str, Any]) -> None:
    operation = operation_named(document, "imports.create")
    assert list(operation["requestBody"]["content"]) == ["multipart/form-data"]
    schema = _body_schema(document, "imports.create")
    assert set(schema["properties"]) == {"type", "file"} and set(schema["required"]) == {"type", "file"}
    assert schema["properties"]["file"]["format"] == "binary"
    assert {"413", "415", "429", "202"} <= set(operation["responses"])
