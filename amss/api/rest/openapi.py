"""The OpenAPI 3.1 document, generated from the app's route table so it is never out of date.

Every `RouteSpec` becomes one operation: its models give the request body, query parameters
and success response; its method, path ids, permission, rate-limit category and idempotency
decide which headers and error responses apply; `x-amss` carries the permission, the roles
allowed (from the role table), admin_only, the rate-limit category and idempotency. The
probes registered without a spec (/health, /ready, /metrics) come from a small static table.
Components no operation refers to are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

import amss
from amss.api.rest.bodies import MAX_CURSOR_LENGTH, dumps
from amss.api.rest.routing import ROUTE_SPECS, RouteSpec
from amss.app.error_codes import ERROR_CODES, codes_with_http_status
from amss.app.paging import DEFAULT_LIMIT, MAX_LIMIT
from amss.auth.rbac import is_allowed
from amss.domain.enums import Role
from amss.domain.versioning import MAX_VERSION

OPENAPI_VERSION: Final = "3.1.0"
OPENAPI_PATH: Final = "/api/v1/openapi.json"
_SCHEMAS: Final = "#/components/schemas/{model}"
_ERROR: Final = {"$ref": "#/components/schemas/Error"}
_UUID: Final = {"type": "string", "format": "uuid"}
_PATH_PARAM = re.compile(r"\{([^{}]+)\}")

# status -> its components.responses name; what each status means, and which codes answer with it, come from
# the one error table (amss/app/error_codes.py)
_ERRORS: Final[dict[int, str]] = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    412: "PreconditionFailed",
    413: "PayloadTooLarge",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
    500: "InternalError",
    503: "Unavailable",
}
# the longest Prefer header a client may rely on (RFC 7240 preferences this API knows are a few bytes)
MAX_PREFER_LENGTH: Final = 1024
_RATE_LIMIT_HEADERS: Final = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")


@dataclass(frozen=True)
class _Probe:
    """An operational endpoint registered without a RouteSpec (see amss/observability/health.py)."""

    name: str
    path: str
    summary: str
    media_type: str
    schema: dict[str, Any]
    errors: tuple[int, ...]


_PROBES: Final = (
    _Probe(
        "health",
        "/health",
        "Liveness: the process answers",
        "application/json",
        {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}},
        (500,),
    ),
    _Probe(
        "ready",
        "/ready",
        "Readiness: Postgres and Redis answer",
        "application/json",
        {"type": "object", "required": ["status"], "properties": {"status": {"const": "ready"}}},
        (500, 503),
    ),
    _Probe("metrics", "/metrics", "Prometheus metrics", "text/plain", {"type": "string"}, (500,)),
)


def _header(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "schema": schema}


def _parameter(name: str, where: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": where, "description": description, "schema": schema}


def _components() -> dict[str, Any]:
    """Everything that does not come from a model: the error shape, headers, parameters, security."""
    return {
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error", "code", "request_id"],
                "properties": {
                    "error": {"type": "string", "description": "a human-readable message"},
                    "code": {"type": "string", "enum": list(ERROR_CODES)},
                    "request_id": {"type": "string", "description": "the X-Request-ID of the request"},
                    "details": {"type": "object", "additionalProperties": True},
                },
            },
            "CommandAccepted": {
                "type": "object",
                "required": ["command_id", "status"],
                "properties": {"command_id": _UUID, "status": {"const": "accepted"}},
            },
        },
        "responses": {name: _error_response(status) for status, name in _ERRORS.items()},
        "headers": {
            "X-Request-ID": _header("The request's id: the client's if it sent a valid UUID, else a new one", _UUID),
            "Location": _header("The URL of the created object (or of the command to poll)", {"type": "string"}),
            "Retry-After": _header("Whole seconds to wait before retrying", {"type": "integer", "minimum": 1}),
            "RateLimit-Limit": _header(
                "Requests allowed per minute in this category (on every response of a limited category)",
                {"type": "integer"},
            ),
            "RateLimit-Remaining": _header("Requests left in the current window", {"type": "integer"}),
            "RateLimit-Reset": _header("Seconds until the window resets", {"type": "integer"}),
        },
        "parameters": {
            parameter["name"]: parameter
            for parameter in (
                _parameter(
                    "X-Request-ID",
                    "header",
                    "A UUID to correlate logs; echoed back (an invalid one is replaced)",
                    _UUID,
                ),
                _parameter(
                    "X-Org-ID",
                    "header",
                    "The organization to act for: an admin may name any existing one, others only their own",
                    _UUID,
                ),
                _parameter(
                    "Idempotency-Key",
                    "header",
                    "Repeat the request safely: the stored response is returned for 24 h",
                    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]{1,255}$"},
                ),
                _parameter(
                    "If-Match",
                    "header",
                    f'The expected version, "<version>" (0 to {MAX_VERSION}; beyond: 400); a stale one is 412',
                    {"type": "string", "pattern": '^(W/)?"?[0-9]{1,10}"?$'},
                ),
                _parameter(
                    "Prefer",
                    "header",
                    "wait=N (seconds, at most 30) or respond-async",
                    {"type": "string", "maxLength": MAX_PREFER_LENGTH},
                ),
                _parameter(
                    "limit",
                    "query",
                    "Page size",
                    {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                ),
                _parameter(
                    "cursor",
                    "query",
                    "next_cursor of the previous page, for the same sort",
                    {"type": "string", "maxLength": MAX_CURSOR_LENGTH},
                ),
            )
        },
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
    }


class _ModelSchemas:
    """Every model of the route table as one set of components.schemas, names deduplicated by pydantic."""

    def __init__(self, specs: Sequence[RouteSpec]) -> None:
        wanted: list[tuple[type[BaseModel], JsonSchemaMode]] = []
        for spec in specs:
            if spec.request_model is not None:
                wanted.append((spec.request_model, "validation"))
            if spec.query_model is not None:
                wanted.append((spec.query_model, "validation"))
            if spec.response_model is not None:
                wanted.append((spec.response_model, "serialization"))
        unique = list(dict.fromkeys(wanted))
        refs, top = models_json_schema(unique, ref_template=_SCHEMAS) if unique else ({}, {})
        self._refs = refs
        self.schemas: dict[str, Any] = top.get("$defs", {})
        for spec in specs:
            model = spec.request_model
            if model is not None and (spec.method == "PATCH" or hasattr(model, "NULLABLE")):
                name = self._name(refs[(model, "validation")])
                _refuse_null(self.schemas[name], getattr(model, "NULLABLE", frozenset()))
        # a query model becomes parameters; its own schema goes unless something else refers to it
        self._query_schemas = {
            spec.query_model: self.schemas[self._name(refs[(spec.query_model, "validation")])]
            for spec in specs
            if spec.query_model is not None
        }

    @staticmethod
    def _name(ref: dict[str, Any]) -> str:
        return str(ref["$ref"]).rsplit("/", 1)[-1]

    def ref(self, model: type[BaseModel], mode: JsonSchemaMode) -> dict[str, Any]:
        return dict(self._refs[(model, mode)])

    def query_parameters(self, model: type[BaseModel]) -> list[dict[str, Any]]:
        schema = self._query_schemas[model]
        required = set(schema.get("required", []))
        parameters = []
        for name, prop in schema.get("properties", {}).items():
            parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
            if "description" in prop:
                parameter["description"] = prop["description"]
            parameter["schema"] = _not_null(prop)
            parameters.append(parameter)
        return parameters


def _refuse_null(schema: dict[str, Any], nullable: frozenset[str]) -> None:
    """A PATCH body (or one whose model declares NULLABLE): an absent field keeps its value, and null (clearing
    it) is accepted only for the `nullable` ones."""
    for name, prop in schema.get("properties", {}).items():
        options = prop.get("anyOf", [])
        if name in nullable or {"type": "null"} not in options:
            continue
        rest = [option for option in options if option != {"type": "null"}]
        del prop["anyOf"]
        prop.pop("default", None)
        if len(rest) == 1:
            for key, value in rest[0].items():  # what the field itself declares wins
                prop.setdefault(key, value)
        else:
            prop["anyOf"] = rest


def _sort_parameter(sorts: Sequence[str]) -> dict[str, Any]:
    fields = sorted(sorts)
    return _parameter(
        "sort",
        "query",
        "A sortable field name, prefixed with - to descend",
        {"type": "string", "enum": [*fields, *(f"-{field}" for field in fields)]},
    )


def _not_null(prop: dict[str, Any]) -> dict[str, Any]:
    """An optional query value's schema without the `null` branch: a query string is never null."""
    schema = {key: value for key, value in prop.items() if key not in ("title", "description", "default")}
    options = [option for option in schema.get("anyOf", []) if option != {"type": "null"}]
    if "anyOf" in schema and len(options) == 1:
        del schema["anyOf"]
        schema.update(options[0])
    if prop.get("default") is not None:
        schema["default"] = prop["default"]
    return schema


def _is_id(path_param: str) -> bool:
    return path_param == "id" or path_param.endswith("_id")


def _param(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/parameters/{name}"}


def _headers(*names: str) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in names}


def _roles(spec: RouteSpec) -> list[str] | None:
    if spec.permission is None:
        return None
    resource, action = spec.permission
    roles = [Role.ADMIN] if spec.admin_only else list(Role)
    return [role.value for role in roles if is_allowed(role, resource, action)]


def _error_statuses(spec: RouteSpec, path_params: list[str]) -> list[int]:
    protected = spec.permission is not None
    has_body = spec.request_model is not None
    writes = spec.method not in ("GET", "HEAD")
    conditional = spec.method in ("PATCH", "DELETE")
    takes_input = has_body or spec.query_model is not None or spec.response_is_list or bool(path_params)
    # 404 for an id in the path, or for an X-Org-ID naming no organization
    applies = {
        400: takes_input or protected or conditional,
        401: protected or spec.category == "auth",
        403: protected,
        404: protected or bool(path_params),
        409: writes and (protected or spec.idempotent),
        412: conditional,
        413: has_body,
        415: has_body,
        429: spec.category is not None,
        500: True,
        503: True,
    }
    return [status for status, applied in applies.items() if applied]


def error_description(status: int) -> str:
    """A status's response description: each code that answers with it and its one-line meaning, from the table."""
    return "; ".join(f"{code}: {ERROR_CODES[code].description}" for code in codes_with_http_status(status))


def _error_response(status: int) -> dict[str, Any]:
    headers = ("X-Request-ID", "Retry-After", *_RATE_LIMIT_HEADERS) if status == 429 else ("X-Request-ID",)
    return {
        "description": error_description(status),
        "headers": _headers(*headers),
        "content": {"application/json": {"schema": _ERROR}},
    }


def _error_ref(status: int) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{_ERRORS[status]}"}


def _success_schema(spec: RouteSpec, models: _ModelSchemas) -> dict[str, Any]:
    item = models.ref(spec.response_model, "serialization") if spec.response_model else {"type": "object"}
    if not spec.response_is_list:
        return item
    return {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {"items": {"type": "array", "items": item}, "next_cursor": {"type": ["string", "null"]}},
    }


def _responses(spec: RouteSpec, path_params: list[str], models: _ModelSchemas) -> dict[str, Any]:
    limited = _RATE_LIMIT_HEADERS if spec.category else ()
    success: dict[str, Any] = {"description": "OK", "headers": _headers("X-Request-ID", *limited)}
    if spec.status == 201:
        success["description"] = "Created; Location names the new object"
        success["headers"].update(_headers("Location"))
    if spec.status == 202:
        success["description"] = "Accepted; Location names the resource that shows its progress"
        success["headers"].update(_headers("Location"))
    if spec.status == 204:
        success["description"] = "No Content"
    else:
        schema = _success_schema(spec, models) if spec.media_type == "application/json" else {"type": "string"}
        success["content"] = {spec.media_type: {"schema": schema}}
    responses: dict[str, Any] = {str(spec.status): success}
    if spec.asynchronous:
        responses["202"] = {
            "description": "Accepted: the result was not ready in time; poll Location",
            "headers": _headers("X-Request-ID", "Location", *limited),
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CommandAccepted"}}},
        }
    for status in _error_statuses(spec, path_params):
        responses[str(status)] = _error_ref(status)
    return responses


def _operation(spec: RouteSpec, path: str, models: _ModelSchemas) -> dict[str, Any]:
    path_params = _PATH_PARAM.findall(path)
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": _UUID if _is_id(name) else {"type": "string"}}
        for name in path_params
    ]
    if spec.query_model is not None:
        parameters.extend(models.query_parameters(spec.query_model))
    if spec.response_is_list or spec.sorts:
        parameters.extend(_param(name) for name in ("limit", "cursor"))
        parameters.append(_sort_parameter(spec.sorts))
    for name, applies in (
        ("X-Org-ID", spec.permission is not None),
        ("Idempotency-Key", spec.idempotent),
        ("If-Match", spec.method in ("PATCH", "DELETE")),
        ("Prefer", spec.asynchronous),
        ("X-Request-ID", True),
    ):
        if applies:
            parameters.append(_param(name))
    operation: dict[str, Any] = {
        "operationId": spec.name,
        "summary": spec.summary,
        "tags": [spec.tag or "default"],
        "parameters": parameters,
    }
    if spec.request_model is not None:
        schema = models.ref(spec.request_model, "validation")
        operation["requestBody"] = {"required": True, "content": {spec.request_media_type: {"schema": schema}}}
    operation["responses"] = _responses(spec, path_params, models)
    operation["security"] = [{"bearerAuth": []}] if spec.permission is not None else []
    operation["x-amss"] = _extension(spec)
    return operation


def _extension(spec: RouteSpec | None) -> dict[str, Any]:
    """`x-amss`: who may call the operation and how the pipeline treats it (None: a public probe)."""
    permission = spec.permission if spec else None
    return {
        "permission": {"resource": permission[0].value, "action": permission[1].value} if permission else None,
        "roles": _roles(spec) if spec else None,
        "admin_only": spec.admin_only if spec else False,
        "rate_limit_category": spec.category if spec else None,
        "idempotent": spec.idempotent if spec else False,
        "asynchronous": spec.asynchronous if spec else False,
    }


def _probe_operation(probe: _Probe) -> dict[str, Any]:
    responses: dict[str, Any] = {
        "200": {
            "description": "OK",
            "headers": _headers("X-Request-ID"),
            "content": {probe.media_type: {"schema": probe.schema}},
        }
    }
    for status in probe.errors:
        responses[str(status)] = _error_ref(status)
    return {
        "operationId": probe.name,
        "summary": probe.summary,
        "tags": ["operations"],
        "parameters": [_param("X-Request-ID")],
        "responses": responses,
        "security": [],
        "x-amss": _extension(None),
    }


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _drop_unused(components: dict[str, Any], paths: dict[str, Any]) -> None:
    """Removes the components no operation reaches (e.g. Prefer while no route is asynchronous)."""
    used: set[str] = set()
    pending = list(_refs(paths))
    while pending:
        ref = pending.pop()
        if ref not in used:
            used.add(ref)
            _, _, kind, name = ref.split("/", 3)
            pending.extend(_refs(components[kind][name]))
    for kind in ("schemas", "responses", "headers", "parameters"):
        components[kind] = {
            name: value for name, value in components[kind].items() if f"#/components/{kind}/{name}" in used
        }


def build_openapi(app: web.Application) -> dict[str, Any]:
    """The document for everything `app` routes: its RouteSpecs and the probes it registered."""
    specs = list(app[ROUTE_SPECS].values()) if ROUTE_SPECS in app else []
    models = _ModelSchemas(specs)
    paths: dict[str, dict[str, Any]] = {}
    for spec in specs:
        path = app.router[spec.name].canonical
        paths.setdefault(path, {})[spec.method.lower()] = _operation(spec, path, models)
    for probe in _PROBES:
        if probe.name in app.router:
            paths.setdefault(app.router[probe.name].canonical, {})["get"] = _probe_operation(probe)
    components = _components()
    clashes = set(components["schemas"]) & set(models.schemas)
    if clashes:
        raise ValueError(f"models named like the document's own schemas: {', '.join(sorted(clashes))}")
    components["schemas"].update(models.schemas)
    _drop_unused(components, paths)
    tags = sorted({tag for item in paths.values() for operation in item.values() for tag in operation["tags"]})
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "AMSS",
            "version": amss.__version__,
            "description": "Aircraft Maintenance Scheduling System. Every error has the Error shape; lists "
            "page with limit and cursor; x-amss names each operation's permission and the roles allowed.",
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": tag} for tag in tags],
        "paths": dict(sorted(paths.items())),
        "components": components,
    }


def openapi_routes() -> list[RouteSpec]:
    """GET /api/v1/openapi.json, public; the document is built on the first request and then reused.

    The cache lives in the handler, one per call of this function (so one per app): a running
    aiohttp app is frozen, and setting a key on it then is deprecated (an error under pytest).
    """
    built_for: web.Application | None = None
    body = b""

    async def openapi_document(request: web.Request) -> web.Response:
        nonlocal built_for, body
        if built_for is not request.app:
            body = dumps(build_openapi(request.app))
            built_for = request.app
        return web.Response(body=body, content_type="application/json")

    return [
        RouteSpec(
            "GET",
            OPENAPI_PATH,
            openapi_document,
            "meta.openapi",
            "This OpenAPI document",
            None,
            None,
            tag="meta",
        )
    ]
