"""What the hostile-input matrices send: for every route, a caller, a valid request, and its fields.

The routes come from the handler modules (route_samples.declared_routes), the valid request from
route_samples.SAMPLES (public routes get theirs here), and the fields to attack from the route's
request and query models, so a route or a field added later is attacked without a new test.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any, Final

import orjson
from pydantic import BaseModel

from amss.api.rest.routing import RouteSpec
from amss.domain.enums import Role
from tests.api_support import Member, Tenant
from tests.integration.api.route_samples import REFUSED_BY_RULE, SampleContext, SampleRequest, may_use, sample_for

NUL = "a\x00b"
# outside 1900-01-01T00:00:00Z .. 2200-12-31T23:59:59.999999Z once in UTC (the last one only in UTC)
OUT_OF_RANGE_TIMES: Final = (
    "0001-01-01T00:10:00+01:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:00:00-01:00",
    "9999-12-31T23:59:59.999999Z",
    "1899-12-31T23:59:59.999999Z",
    "2201-01-01T00:00:00Z",
    "1900-01-01T00:30:00+01:00",
)
# routes that take no If-Match although they are PATCH or DELETE (a transition is not an edit)
IGNORES_IF_MATCH: Final = frozenset({"maintenance_tasks.transition", "compliance_items.sign_off"})
_PUBLIC_BODIES: Final[dict[str, dict[str, Any]]] = {
    "auth.login": {"email": "nobody@example.test", "password": "not-the-password"},
    "auth.refresh": {"refresh_token": "not-a-refresh-token"},
    "auth.logout": {"refresh_token": "not-a-refresh-token"},
}


def caller_of(spec: RouteSpec, tenant: Tenant) -> Member | None:
    """A member the route lets through (an admin when it may), None for a public route."""
    if spec.permission is None:
        return None
    roles = [Role.ADMIN, *(role for role in Role if role is not Role.ADMIN)]
    for role in roles:
        if may_use(role, spec) and (spec.name, role) not in REFUSED_BY_RULE:
            return tenant[role]
    raise AssertionError(f"no role may use {spec.name}")


async def valid_request(spec: RouteSpec, ctx: SampleContext | None) -> SampleRequest:
    if spec.permission is None:
        return SampleRequest(spec.method, spec.path, json=_PUBLIC_BODIES.get(spec.name))
    assert ctx is not None
    return await sample_for(spec.name).build(ctx)


def base_path(request: SampleRequest) -> str:
    return request.path.partition("?")[0]


def field_names(model: type[BaseModel] | None) -> list[str]:
    """The names a client uses for the model's fields (aliases where they have one)."""
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def timestamp_fields(model: type[BaseModel] | None) -> list[str]:
    """The fields whose JSON schema is a date-time (alone or in an anyOf with null)."""
    if model is None:
        return []
    properties = model.model_json_schema(by_alias=True).get("properties", {})
    return [name for name, schema in properties.items() if date_time_schema(schema) is not None]


def date_time_schema(schema: dict[str, Any]) -> dict[str, Any] | None:
    if schema.get("format") == "date-time":
        return schema
    for option in schema.get("anyOf", []):
        if option.get("format") == "date-time":
            return dict(option)
    return None


def forged_cursor(payload: Any) -> str:
    # the standard library's encoder: it writes integers beyond 64 bits, as a forger would
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def read_cursor(cursor: str) -> list[Any]:
    payload = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    assert isinstance(payload, list)
    return payload


def forged_cursors(sort: str) -> list[tuple[str, str]]:
    """(what it is, cursor) for a list sorted by `sort`: shapes and values no issued cursor has."""
    some_id = str(uuid.uuid4())
    nested: Any = [sort]
    for _ in range(600):
        nested = [nested]
    payloads: list[tuple[str, Any]] = [
        ("created_at text value", ["created_at", ["v", "abc"], some_id]),
        ("text value", [sort, ["v", "abc"], some_id]),
        ("malformed time", [sort, ["t", "abc"], some_id]),
        ("time before the range", [sort, ["t", "0001-01-01T00:10:00+01:00"], some_id]),
        ("time after the range", [sort, ["t", "9999-12-31T23:00:00-01:00"], some_id]),
        ("naive time", [sort, ["t", "2026-01-01T00:00:00"], some_id]),
        ("huge number", [sort, ["v", 1e30], some_id]),
        ("huge integer", [sort, ["i", 99999999999999999999], some_id]),
        ("integer for text", [sort, ["v", 12], some_id]),
        ("object value", [sort, ["v", {"a": 1}], some_id]),
        ("nested list value", [sort, [["v"], ["x"]], some_id]),
        ("NUL text", [sort, ["v", NUL], some_id]),
        ("long text", [sort, ["v", "x" * 2000], some_id]),
        ("over-long cursor", [sort, ["v", "x" * 5000], some_id]),
        ("bad id", [sort, ["t", "2026-01-01T00:00:00Z"], "not-a-uuid"]),
        ("integer id", [sort, ["t", "2026-01-01T00:00:00Z"], 5]),
        ("dict", {"sort": sort}),
        ("int", 12),
        ("short list", [sort]),
        ("deeply nested", nested),
    ]
    cursors = [(name, forged_cursor(payload)) for name, payload in payloads]
    too_deep = ("[" * 1100 + "]" * 1100).encode()  # past orjson's nesting limit
    cursors.append(("nested past the parser's limit", base64.urlsafe_b64encode(too_deep).decode()))
    return [*cursors, ("not base64", "!!!not-base64!!!"), ("not JSON", base64.urlsafe_b64encode(b"not json").decode())]
