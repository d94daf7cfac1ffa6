"""CORS for browser clients of the origins in CORS_ALLOWED_ORIGINS; off (adds nothing) when that is empty.

`cors_middleware` answers preflights before authentication and before aiohttp's 405 for a
path without an OPTIONS route; `add_cors_headers` (on_response_prepare) marks every response
to an allowed origin, errors and streamed responses included. A disallowed origin gets no
CORS header at all, so the browser blocks the call.
"""

from __future__ import annotations

from typing import Final

from aiohttp import hdrs, web

from amss.api.rest.header_text import is_visible_ascii
from amss.api.rest.routing import Handler
from amss.runtime import SETTINGS

ALLOW_HEADERS: Final = (
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "X-Org-ID",
    "X-Request-ID",
    "Prefer",
)
EXPOSE_HEADERS: Final = (
    "X-Request-ID",
    "Location",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Idempotent-Replayed",
)
PREFLIGHT_MAX_AGE: Final = 600


def _normalized(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def allowed_origin(request: web.Request) -> str | None:
    """The Access-Control-Allow-Origin value for this request, or None (CORS off, no or foreign Origin)."""
    configured = request.app[SETTINGS].cors_allowed_origins
    origin = request.headers.get(hdrs.ORIGIN)
    if not configured or not origin or not is_visible_ascii(origin):  # never echo a value that is not ASCII
        return None
    if "*" in configured:
        return "*"
    if _normalized(origin) in {_normalized(allowed) for allowed in configured}:
        return origin
    return None


def _add_vary(response: web.StreamResponse, *names: str) -> None:
    present = [part.strip() for part in response.headers.get(hdrs.VARY, "").split(",") if part.strip()]
    lowered = {part.lower() for part in present}
    present.extend(name for name in names if name.lower() not in lowered)
    response.headers[hdrs.VARY] = ", ".join(present)


def _path_methods(request: web.Request) -> list[str] | None:
    """The methods the request's path answers, or None when no route has this path."""
    match_info = request.match_info
    failure = match_info.http_exception
    if isinstance(failure, web.HTTPMethodNotAllowed):
        return sorted(failure.allowed_methods)
    if failure is not None or match_info.route.resource is None:
        return None
    return sorted({route.method for route in match_info.route.resource})


def _is_preflight(request: web.Request) -> bool:
    return (
        request.method == hdrs.METH_OPTIONS
        and hdrs.ORIGIN in request.headers
        and hdrs.ACCESS_CONTROL_REQUEST_METHOD in request.headers
    )


@web.middleware
async def cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answers the preflight of an allowed origin for any routed path; everything else passes through."""
    if not _is_preflight(request):
        return await handler(request)
    origin = allowed_origin(request)
    methods = _path_methods(request) if origin else None
    if origin is None or methods is None:
        return await handler(request)
    response = web.Response(status=204)
    response.headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = origin
    response.headers[hdrs.ACCESS_CONTROL_ALLOW_METHODS] = ", ".join(methods)
    response.headers[hdrs.ACCESS_CONTROL_ALLOW_HEADERS] = ", ".join(ALLOW_HEADERS)
    response.headers[hdrs.ACCESS_CONTROL_MAX_AGE] = str(PREFLIGHT_MAX_AGE)
    _add_vary(response, hdrs.ORIGIN, hdrs.ACCESS_CONTROL_REQUEST_METHOD, hdrs.ACCESS_CONTROL_REQUEST_HEADERS)
    return response


async def add_cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: lets an allowed origin read the response and the headers clients need."""
    origin = allowed_origin(request)
    if origin is None:
        return
    response.headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = origin
    response.headers[hdrs.ACCESS_CONTROL_EXPOSE_HEADERS] = ", ".join(EXPOSE_HEADERS)
    _add_vary(response, hdrs.ORIGIN)
