"""Reading requests and writing responses: JSON bodies, query parameters, If-Match, cursors.

Bodies must be `application/json` (in a Content-Encoding amss/api/rest/encodings.py decodes),
parse as JSON, and match their model exactly: unknown fields and wrong types are 400s that name
the field; naive timestamps are rejected. No string
of a body (keys included, at any depth) may hold a NUL character (Postgres stores none); query
parameters get the same check in `text_input_middleware`. Cursors and If-Match are client
input too: checked against the sort column's type and the version column's range.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

from amss.api.rest.encodings import read_body
from amss.api.rest.errors import ApiError
from amss.app.inputs import field_errors
from amss.app.paging import MAX_LIMIT, Page, PageRequest, SortColumn, SortKind
from amss.domain.errors import NotFound, ValidationFailed
from amss.domain.timestamps import range_problem, utc_text
from amss.domain.versioning import MAX_VERSION

M = TypeVar("M", bound=BaseModel)
_JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC
NUL_PROBLEM: Final = "must not contain the NUL character (\\u0000)"
_WHOLE_NUMBER = re.compile(r"[0-9]{1,20}")  # ASCII digits only: str.isdigit() also accepts "²" and other Unicode digits
MAX_CURSOR_LENGTH: Final = 4096
MAX_CURSOR_TEXT: Final = 1024


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


def validation_failed(exc: ValidationError, what: str = "request body") -> ValidationFailed:
    fields = field_errors(exc)
    summary = "; ".join(f"{name}: {problem}" for name, problem in fields.items())
    return ValidationFailed(f"invalid {what}: {summary}", {"fields": fields})


async def read_json(request: web.Request, model: type[M]) -> M:
    """The body parsed into `model`; 415 for another media type, 400 for bad JSON or values."""
    if request.content_type != "application/json":
        raise ApiError("UNSUPPORTED_MEDIA_TYPE", "the request body must be application/json")
    raw = await read_body(request)
    if not raw.strip():
        raise ValidationFailed("the request body is empty; a JSON object is expected")
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ValidationFailed(f"malformed JSON: {exc}") from None
    refuse_nul(parsed)
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


def nul_field(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string or object key holding a NUL character, else None."""
    if isinstance(value, str):
        return (path or "body") if "\x00" in value else None
    if isinstance(value, dict):
        children: Any = value.items()
    elif isinstance(value, list):
        children = enumerate(value)
    else:
        return None
    for key, child in children:
        name = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and "\x00" in key:
            return name
        found = nul_field(child, name)
        if found is not None:
            return found
    return None


def refuse_nul(value: Any, path: str = "") -> None:
    """400 naming the field when any string in `value` (keys too, at any depth) holds a NUL."""
    name = nul_field(value, path)
    if name is not None:
        raise ValidationFailed.on_field(name.replace("\x00", "\\u0000"), NUL_PROBLEM)


def refuse_nul_in_query(request: web.Request) -> None:
    """Every query parameter's name and value, on every route (text_input_middleware calls it)."""
    for key, value in request.query.items():
        refuse_nul({key or "query": value})


def whole_number(text: str) -> int | None:
    """A non-negative whole number written in ASCII digits (at most 20), else None."""
    return int(text) if _WHOLE_NUMBER.fullmatch(text) else None


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
    version = whole_number(header.strip().removeprefix("W/").strip('"'))
    if version is None or version > MAX_VERSION:
        raise ValidationFailed.on_field("If-Match", f'expected "<version>", a whole number from 0 to {MAX_VERSION}')
    return version


# --- pagination ----------------------------------------------------------------------------------


def page_request(
    request: web.Request, sortable: Mapping[str, SortColumn], default_sort: str = "created_at"
) -> PageRequest:
    query = request.query
    limit = whole_number(query.get("limit", "50"))
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed.on_field("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    sort = query.get("sort", default_sort)
    descending = sort.startswith("-")
    field = sort.removeprefix("-")
    if field not in sortable:
        raise ValidationFailed.on_field("sort", f"must be one of {', '.join(sorted(sortable))} (prefix - to descend)")
    after = None
    if "cursor" in query:
        after = decode_cursor(query["cursor"], sort, sortable[field])
    return PageRequest(limit=limit, sort=field, descending=descending, after=after)


def encode_cursor(sort: str, descending: bool, after: tuple[object, uuid.UUID]) -> str:
    """`base64url(["<sort>", ["<kind tag>", value], "<id>"])`; the tag is a SortKind's value."""
    value, last_id = after
    if isinstance(value, datetime):
        encoded: list[Any] = [SortKind.TIME.value, utc_text(value)]
    elif isinstance(value, int) and not isinstance(value, bool):
        encoded = [SortKind.INTEGER.value, value]
    else:
        encoded = [SortKind.TEXT.value, value]
    payload = orjson.dumps([("-" if descending else "") + sort, encoded, str(last_id)])
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str, column: SortColumn) -> tuple[object, uuid.UUID]:
    """The (sort value, id) a cursor continues after; its value has the type of the sort column."""
    if len(cursor) > MAX_CURSOR_LENGTH:
        raise ValidationFailed.on_field("cursor", "not a cursor this API issued")
    try:
        payload = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, orjson.JSONDecodeError, ValueError):
        raise ValidationFailed.on_field("cursor", "not a cursor this API issued") from None
    if not (isinstance(payload, list) and len(payload) == 3 and isinstance(payload[1], list) and len(payload[1]) == 2):
        raise ValidationFailed.on_field("cursor", "not a cursor this API issued")
    cursor_sort, (tag, raw_value), raw_id = payload
    if cursor_sort != sort:
        raise ValidationFailed.on_field("cursor", "was issued for another sort order")
    if tag != column.kind.value:
        raise ValidationFailed.on_field("cursor", "its value does not have the type of the sort field")
    try:
        last_id = uuid.UUID(raw_id) if isinstance(raw_id, str) and len(raw_id) <= 64 else None
    except ValueError:
        last_id = None
    if last_id is None:
        raise ValidationFailed.on_field("cursor", "not a cursor this API issued")
    return _cursor_value(column, raw_value), last_id


def _cursor_value(column: SortColumn, raw: object) -> object:
    """A cursor's sort value checked against its column: what the column's type can take."""
    if column.kind is SortKind.TIME:
        moment = _cursor_time(raw)
        if moment is None or range_problem(moment) is not None:
            raise ValidationFailed.on_field("cursor", "its time is not a timestamp within the accepted range")
        return moment
    if column.kind is SortKind.INTEGER:
        if isinstance(raw, int) and not isinstance(raw, bool) and -MAX_VERSION - 1 <= raw <= MAX_VERSION:
            return raw
        raise ValidationFailed.on_field("cursor", "its value is not a whole number within int32")
    if column.labels is not None and raw not in column.labels:
        raise ValidationFailed.on_field("cursor", f"its value is not one of {', '.join(sorted(column.labels))}")
    if isinstance(raw, str) and len(raw) <= MAX_CURSOR_TEXT and "\x00" not in raw:
        return raw
    raise ValidationFailed.on_field("cursor", f"its value is not a text of at most {MAX_CURSOR_TEXT} characters")


def _cursor_time(raw: object) -> datetime | None:
    if not isinstance(raw, str) or len(raw) > 64:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None


def page_body(page: Page[Any], request: PageRequest, render: Any) -> dict[str, Any]:
    next_cursor = None
    if page.next_after is not None:
        next_cursor = encode_cursor(request.sort, request.descending, page.next_after)
    return {"items": [render(item) for item in page.items], "next_cursor": next_cursor}
