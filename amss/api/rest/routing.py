"""Routes as data: each declares its permission, rate-limit category, idempotency and schemas.

The middlewares read a request's `RouteSpec` to authorise it, rate limit it and make it
idempotent; the OpenAPI document is generated from the same table.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiohttp import web
from pydantic import BaseModel

from amss.auth.rbac import Action, Resource

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ROUTE_SPECS = web.AppKey("route_specs", dict[str, "RouteSpec"])


@dataclass(frozen=True)
class RouteSpec:
    method: str
    path: str
    handler: Handler
    name: str
    summary: str
    # None for public routes (login, refresh, logout, JWKS, OpenAPI)
    permission: tuple[Resource, Action] | None
    # the rate-limit category: auth, read, write, import or export; None for unlimited
    category: str | None
    admin_only: bool = False
    idempotent: bool = False
    # an asynchronous endpoint answers an in-progress idempotent repeat with 202, not 409
    asynchronous: bool = False
    request_model: type[BaseModel] | None = None
    query_model: type[BaseModel] | None = None
    response_model: type[BaseModel] | None = None
    response_is_list: bool = False
    status: int = 200
    tag: str = ""
    # a list route's sortable fields (the `sort` parameter takes one, or - and one)
    sorts: tuple[str, ...] = ()
    # the success body's media type
    media_type: str = "application/json"
    # the request body's media type (a `multipart/form-data` upload: request_model describes its fields)
    request_media_type: str = "application/json"
    # reads the body for the idempotency hash when it is not plain bytes to read whole (an upload,
    # streamed under its own cap); the handler then takes what it read
    body_digest: Callable[[web.Request], Awaitable[bytes]] | None = None


def spec_of(request: web.Request) -> RouteSpec | None:
    """The matched route's spec, or None (unknown route, 405, or a route without one)."""
    name = request.match_info.route.name
    if name is None or request.match_info.http_exception is not None:
        return None
    return request.app[ROUTE_SPECS].get(name)


def add_routes(app: web.Application, specs: Sequence[RouteSpec]) -> None:
    table = app[ROUTE_SPECS] if ROUTE_SPECS in app else {}
    for spec in specs:
        if spec.name in table:
            raise ValueError(f"route name {spec.name} is used twice")
        app.router.add_route(spec.method, spec.path, spec.handler, name=spec.name)
        table[spec.name] = spec
    app[ROUTE_SPECS] = table
