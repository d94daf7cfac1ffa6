"""Reading requests and writing responses: JSON bodies, query parameters, If-Match, cursors.

Bodies must be `application/json`, parse as JSON, and match their model exactly: unknown
fields and wrong types are 400s that name the field; naive timestamps are rejected.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime
from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from amss.api.rest.errors import ApiError
from amss.app.paging import MAX_LIMIT, Page, PageRequest
from amss.domain.errors import NotFound, ValidationFailed

M = TypeVar("M", bound=BaseModel)
_JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=_JSON_OPTIONS, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, uuid.UUID):  # asyncpg's own UUID subclass, which orjson does not know
        return str(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def json_response(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=dumps(value), content_type="application/json", headers=headers)


def field_errors(exc: ValidationError) -> dict[str, str]:
    fields: dict[str, str] = {}
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]) or "body"
        kind = error["type"]
        if kind == "missing":
            fields[name] = "required"
        elif kind == "extra_forbidden":
            fields[name] = "unknown field"
        elif kind == "timezone_aware":
            fields[name] = "timestamp needs a time zone offset (RFC 3339)"
        else:
            fields[name] = str(error["msg"]).removeprefix("Value error, ")
    return fields


def validation_failed(exc: ValidationError, what: str = "request body") -> ValidationFailed:
    fields = field_errors(exc)
    summary = "; ".join(f"{name}: {problem}" for name, problem in fields.items())
    return ValidationFailed(f"invalid {what}: {summary}", {"fields": fields})


async def read_json(request: web.Request, model: type[M]) -> M:
    """The body parsed into `model`; 415 for another media type, 400 for bad JSON or values."""
    if request.content_type != "application/json":
        raise ApiError("UNSUPPORTED_MEDIA_TYPE", "the request body must be application/json")
    raw = await request.read()
    if not raw.strip():
        raise ValidationFailed("the request body is empty; a JSON object is expected")
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValidationFailed(f"malformed JSON: {exc}") from None
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        raise validation_failed(exc) from None


def read_query(request: web.Request, model: type[M]) -> M:
    """Query parameters (minus limit, cursor and sort) validated by `model`; wrong types are 400."""
    values = {key: value for key, value in request.query.items() if key not in ("limit", "cursor", "sort")}
    duplicated = [key for key in values if len(request.query.getall(key)) > 1]
    if duplicated:
        raise ValidationFailed.on_field(duplicated[0], "given more than once")
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise validation_failed(exc, "query parameters") from None


def path_id(request: web.Request, name: str = "id") -> uuid.UUID:
    """A UUID from the path; a malformed one names no object, so it is 404."""
    try:
        return uuid.UUID(request.match_info[name])
    except ValueError:
        raise NotFound("no such object") from None


def if_match(request: web.Request) -> int | None:
    """The version in `If-Match: "<version>"` (quotes optional), or None when absent."""
    header = request.headers.get("If-Match")
    if header is None:
        return None
    text = header.strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise ValidationFailed.on_field("If-Match", 'expected "<version>", a whole number')
    return int(text)


# --- pagination ----------------------------------------------------------------------------------


def page_request(
    request: web.Request, sortable: set[str] | frozenset[str], default_sort: str = "created_at"
) -> PageRequest:
    query = request.query
    limit_text = query.get("limit", "50")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIMIT:
        raise ValidationFailed.on_field("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    sort = query.get("sort", default_sort)
    descending = sort.startswith("-")
    field = sort.removeprefix("-")
    if field not in sortable:
        raise ValidationFailed.on_field("sort", f"must be one of {', '.join(sorted(sortable))} (prefix - to descend)")
    after = None
    if "cursor" in query:
        after = decode_cursor(query["cursor"], sort)
    return PageRequest(limit=int(limit_text), sort=field, descending=descending, after=after)


def encode_cursor(sort: str, descending: bool, after: tuple[object, uuid.UUID]) -> str:
    value, last_id = after
    if isinstance(value, datetime):
        encoded: list[Any] = ["t", value.isoformat()]
    else:
        encoded = ["v", value]
    payload = orjson.dumps([("-" if descending else "") + sort, encoded, str(last_id)])
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[object, uuid.UUID]:
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        cursor_sort, (kind, raw_value), raw_id = payload
        value: object = datetime.fromisoformat(raw_value) if kind == "t" else raw_value
        last_id = uuid.UUID(raw_id)
    except (binascii.Error, orjson.JSONDecodeError, ValueError, TypeError):
        raise ValidationFailed.on_field("cursor", "not a cursor this API issued") from None
    if cursor_sort != sort:
        raise ValidationFailed.on_field("cursor", "was issued for another sort order")
    return value, last_id


def page_body(page: Page[Any], request: PageRequest, render: Any) -> dict[str, Any]:
    next_cursor = None
    if page.next_after is not None:
        next_cursor = encode_cursor(request.sort, request.descending, page.next_after)
    return {"items": [render(item) for item in page.items], "next_cursor": next_cursor}
