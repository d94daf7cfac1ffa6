"""Users of the caller's organization."""

from __future__ import annotations

import uuid
from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from amss.api.rest.bodies import if_match, json_response, page_body, page_request, path_id, read_json, read_query
from amss.api.rest.context import actor_of, principal_of
from amss.api.rest.routing import RouteSpec
from amss.api.rest.schemas import Body, Email, FilterText, Out, Password
from amss.api.rest.services import SERVICES
from amss.app.sorts import USER_SORTS
from amss.auth.rbac import Action, Resource
from amss.domain.enums import Role
from amss.domain.errors import ValidationFailed


class UserCreate(Body):
    email: Email
    role: Role
    password: Password


class UserUpdate(Body):
    email: Email | None = None
    role: Role | None = None
    password: Password | None = None


class UserOut(Out):
    id: uuid.UUID
    org_id: uuid.UUID
    email: str
    role: Role
    last_login: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class UserQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role | None = None
    email: FilterText | None = None


def _out(user: object) -> UserOut:
    return UserOut.model_validate(user)


async def create_user(request: web.Request) -> web.Response:
    body = await read_json(request, UserCreate)
    user = await request.app[SERVICES].users.create(
        actor_of(request), principal_of(request), body.email, body.role, body.password
    )
    return json_response(_out(user), status=201, headers={"Location": f"/api/v1/users/{user.id}"})


async def list_users(request: web.Request) -> web.Response:
    query = read_query(request, UserQuery)
    page = page_request(request, USER_SORTS)
    result = await request.app[SERVICES].users.list_page(principal_of(request), page, query.role, query.email)
    return json_response(page_body(result, page, _out))


async def get_user(request: web.Request) -> web.Response:
    return json_response(_out(await request.app[SERVICES].users.get(principal_of(request), path_id(request))))


async def update_user(request: web.Request) -> web.Response:
    user_id = path_id(request)
    body = await read_json(request, UserUpdate)
    nulls = {name: "must not be null" for name, value in body.model_dump(exclude_unset=True).items() if value is None}
    if nulls:
        raise ValidationFailed("fields cannot be null", {"fields": nulls})
    user = await request.app[SERVICES].users.update(
        actor_of(request), principal_of(request), user_id, body.email, body.role, body.password, if_match(request)
    )
    return json_response(_out(user))


async def delete_user(request: web.Request) -> web.Response:
    await request.app[SERVICES].users.delete(
        actor_of(request), principal_of(request), path_id(request), if_match(request)
    )
    return web.Response(status=204)


_USERS, _R, _W = Resource.USERS, Action.READ, Action.WRITE
ROUTES = [
    RouteSpec(
        "POST",
        "/api/v1/users",
        create_user,
        "users.create",
        "Create a user in the organization",
        (_USERS, _W),
        "write",
        idempotent=True,
        request_model=UserCreate,
        response_model=UserOut,
        status=201,
        tag="users",
    ),
    RouteSpec(
        "GET",
        "/api/v1/users",
        list_users,
        "users.list",
        "List the organization's users",
        (_USERS, _R),
        "read",
        query_model=UserQuery,
        response_model=UserOut,
        response_is_list=True,
        sorts=tuple(USER_SORTS),
        tag="users",
    ),
    RouteSpec(
        "GET",
        "/api/v1/users/{id}",
        get_user,
        "users.get",
        "Read a user",
        (_USERS, _R),
        "read",
        response_model=UserOut,
        tag="users",
    ),
    RouteSpec(
        "PATCH",
        "/api/v1/users/{id}",
        update_user,
        "users.update",
        "Change a user's e-mail, role or password",
        (_USERS, _W),
        "write",
        request_model=UserUpdate,
        response_model=UserOut,
        tag="users",
    ),
    RouteSpec(
        "DELETE",
        "/api/v1/users/{id}",
        delete_user,
        "users.delete",
        "Soft-delete a user",
        (_USERS, _W),
        "write",
        status=204,
        tag="users",
    ),
]
