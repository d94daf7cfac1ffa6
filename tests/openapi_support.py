"""Checking the OpenAPI document: the app it describes, its $refs, and values against its schemas.

`schema_problems` is a small validator for the JSON Schema subset the document uses (no
validator library is a dependency); objects with `properties` are treated as closed, so an
undocumented field in a response is a problem.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from aiohttp import web

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def routed_operations(app: web.Application) -> set[tuple[str, str]]:
    """(METHOD, path template) of every route the app answers, HEAD aside (aiohttp adds it to GETs)."""
    return {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.method != "HEAD" and route.resource is not None
    }


def documented_operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path) for path, item in document["paths"].items() for method in item if method in HTTP_METHODS
    }


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method.upper(), path, operation


def operation_named(document: dict[str, Any], operation_id: str) -> dict[str, Any]:
    found = [operation for _, _, operation in operations(document) if operation["operationId"] == operation_id]
    assert len(found) == 1, f"{len(found)} operations named {operation_id}"
    return found[0]


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """`node`, or what its local $ref points at (following chains)."""
    while "$ref" in node:
        ref = node["$ref"]
        assert isinstance(ref, str) and ref.startswith("#/"), f"not a local reference: {ref!r}"
        target: Any = document
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            assert isinstance(target, dict) and part in target, f"unresolved reference {ref}"
            target = target[part]
        node = target
    return node


def refs_in(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from refs_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs_in(value)


def parameters_of(document: dict[str, Any], operation: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    resolved = [resolve(document, parameter) for parameter in operation.get("parameters", [])]
    by_key = {(parameter["in"], parameter["name"]): parameter for parameter in resolved}
    assert len(by_key) == len(resolved), f"{operation['operationId']}: a parameter is declared twice"
    return by_key


def success_schema(document: dict[str, Any], operation_id: str, status: int) -> dict[str, Any]:
    response = resolve(document, operation_named(document, operation_id)["responses"][str(status)])
    schema: dict[str, Any] = response["content"]["application/json"]["schema"]
    return schema


# --- a validator for the JSON Schema subset the document uses ------------------------------------

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
    "array": (list,),
    "object": (dict,),
}


def _type_matches(name: str, value: Any) -> bool:
    if isinstance(value, bool) and name in ("integer", "number"):
        return False
    return isinstance(value, _TYPES[name])


def _format_problem(fmt: str, value: str) -> str | None:
    try:
        if fmt == "uuid":
            uuid.UUID(value)
        elif fmt == "date-time":
            if datetime.fromisoformat(value).utcoffset() is None:
                return "a timestamp without offset"
        elif fmt == "duration" and not value.startswith(("P", "-P")):
            return "not an ISO 8601 duration"
    except ValueError:
        return f"not a {fmt}"
    return None


def schema_problems(document: dict[str, Any], schema: dict[str, Any], value: Any, where: str = "$") -> list[str]:
    schema = resolve(document, schema)
    if "anyOf" in schema:
        if all(schema_problems(document, option, value, where) for option in schema["anyOf"]):
            return [f"{where}: matches none of {schema['anyOf']}"]
        return []
    problems: list[str] = []
    if "const" in schema and value != schema["const"]:
        problems.append(f"{where}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} is not one of {schema['enum']}")
    types = schema.get("type")
    if types is not None:
        names = types if isinstance(types, list) else [types]
        if not any(_type_matches(name, value) for name in names):
            return [*problems, f"{where}: {value!r} is not of type {types}"]
    if isinstance(value, str) and "format" in schema:
        problem = _format_problem(schema["format"], value)
        if problem:
            problems.append(f"{where}: {value!r} is {problem}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            problems += schema_problems(document, schema["items"], item, f"{where}[{index}]")
    if isinstance(value, dict):
        problems += _object_problems(document, schema, value, where)
    return problems


def _object_problems(document: dict[str, Any], schema: dict[str, Any], value: dict[str, Any], where: str) -> list[str]:
    properties = schema.get("properties", {})
    problems = [f"{where}: {name} is missing" for name in schema.get("required", []) if name not in value]
    for name, item in value.items():
        if name in properties:
            problems += schema_problems(document, properties[name], item, f"{where}.{name}")
        elif isinstance(schema.get("additionalProperties"), dict):
            problems += schema_problems(document, schema["additionalProperties"], item, f"{where}.{name}")
        elif properties or schema.get("additionalProperties") is False:
            problems.append(f"{where}: {name} is not documented")
    return problems
