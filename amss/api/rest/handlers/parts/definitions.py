"""Part definitions: created, read, changed and soft-deleted directly (no actor)."""

from __future__ import annotations

import uuid
from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from amss.api.rest.bodies import if_match, json_response, page_body, page_request, path_id, read_json, read_query
from amss.api.rest.context import actor_of, principal_of
from amss.api.rest.routing import RouteSpec
from amss.api.rest.schemas import Body, FilterText, Name, Out
from amss.api.rest.services import SERVICES
from amss.app.inputs import Category, PartDefinitionCreate
from amss.app.parts.ports import (
    NewPartDefinition,
    PartDefinitionFilter,
)
from amss.app.parts.views import part_definition_view
from amss.app.sorts import DEFINITION_SORTS
from amss.auth.rbac import Action, Resource


class PartDefinitionUpdate(Body):
    name: Name | None = None
    category: Category | None = None


class PartDefinitionOut(Out):
    """The shape amss.app.parts.views.part_definition_view renders."""

    id: uuid.UUID
    org_id: uuid.UUID
    name: str
    category: str
    version: int
    created_at: datetime
    updated_at: datetime


class PartDefinitionQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: FilterText | None = None
    category: FilterText | None = None


async def create_definition(request: web.Request) -> web.Response:
    body = await read_json(request, PartDefinitionCreate)
    definition = await request.app[SERVICES].parts.create_definition(
        actor_of(request), principal_of(request).org_id, NewPartDefinition(body.name, body.category)
    )
    location = {"Location": f"/api/v1/part-definitions/{definition.id}"}
    return json_response(part_definition_view(definition), status=201, headers=location)


async def list_definitions(request: web.Request) -> web.Response:
    query = read_query(request, PartDefinitionQuery)
    page = page_request(request, DEFINITION_SORTS)
    result = await request.app[SERVICES].parts.list_definitions(
        principal_of(request).org_id, page, PartDefinitionFilter(query.name, query.category)
    )
    return json_response(page_body(result, page, part_definition_view))


async def get_definition(request: web.Request) -> web.Response:
    definition = await request.app[SERVICES].parts.get_definition(principal_of(request).org_id, path_id(request))
    return json_response(part_definition_view(definition))


async def update_definition(request: web.Request) -> web.Response:
    definition_id = path_id(request)
    body = await read_json(request, PartDefinitionUpdate)
    changes = body.model_dump(exclude_unset=True)
    definition = await request.app[SERVICES].parts.update_definition(
        actor_of(request), principal_of(request).org_id, definition_id, changes, if_match(request)
    )
    return json_response(part_definition_view(definition))


async def delete_definition(request: web.Request) -> web.Response:
    definition_id = path_id(request)
    await request.app[SERVICES].parts.delete_definition(
        actor_of(request), principal_of(request).org_id, definition_id, if_match(request)
    )
    return web.Response(status=204)


_PARTS = Resource.PARTS
_R, _W = Action.READ, Action.WRITE
ROUTES = [
    RouteSpec(
        "POST",
        "/api/v1/part-definitions",
        create_definition,
        "part_definitions.create",
        "Add a part definition",
        (_PARTS, _W),
        "write",
        idempotent=True,
        request_model=PartDefinitionCreate,
        response_model=PartDefinitionOut,
        status=201,
        tag="parts",
    ),
    RouteSpec(
        "GET",
        "/api/v1/part-definitions",
        list_definitions,
        "part_definitions.list",
        "List the organization's part definitions",
        (_PARTS, _R),
        "read",
        query_model=PartDefinitionQuery,
        response_model=PartDefinitionOut,
        response_is_list=True,
        sorts=tuple(DEFINITION_SORTS),
        tag="parts",
    ),
    RouteSpec(
        "GET",
        "/api/v1/part-definitions/{id}",
        get_definition,
        "part_definitions.get",
        "Read a part definition",
        (_PARTS, _R),
        "read",
        response_model=PartDefinitionOut,
        tag="parts",
    ),
    RouteSpec(
        "PATCH",
        "/api/v1/part-definitions/{id}",
        update_definition,
        "part_definitions.update",
        "Rename or recategorise a part definition",
        (_PARTS, _W),
        "write",
        request_model=PartDefinitionUpdate,
        response_model=PartDefinitionOut,
        tag="parts",
    ),
    RouteSpec(
        "DELETE",
        "/api/v1/part-definitions/{id}",
        delete_definition,
        "part_definitions.delete",
        "Soft-delete a part definition no live part item references",
        (_PARTS, _W),
        "write",
        status=204,
        tag="parts",
    ),
]
