"""Part items: created and read directly; changed and deleted as commands of the part item's actor
`part:{org_id}:{part_item_id}`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from amss.api.rest.bodies import if_match, json_response, page_body, page_request, path_id, read_json, read_query
from amss.api.rest.context import actor_of, principal_of
from amss.api.rest.handlers.commands import send_command
from amss.api.rest.routing import RouteSpec
from amss.api.rest.schemas import Body, Out, Timestamp
from amss.api.rest.services import SERVICES
from amss.app.commands.base import parse_payload
from amss.app.inputs import PartItemCreate, SerialNumber
from amss.app.parts.commands import DeletePartItem, PartItemChanges, UpdatePartItem
from amss.app.parts.ports import (
    NewPartItem,
    PartItemFilter,
)
from amss.app.parts.views import part_item_body, part_item_view
from amss.app.sorts import ITEM_SORTS
from amss.auth.rbac import Action, Resource
from amss.domain.enums import PartItemStatus
from amss.domain.parts import normalized_serial_number


class PartItemUpdate(Body):
    """The limited edits: serial number, a later expiry (never removed), in_stock -> disposed."""

    serial_number: SerialNumber | None = None
    expiry_date: Timestamp | None = None
    status: PartItemStatus | None = None


class PartItemOut(Out):
    """The shape amss.app.parts.views.part_item_view renders."""

    id: uuid.UUID
    org_id: uuid.UUID
    part_definition_id: uuid.UUID
    serial_number: str
    status: PartItemStatus
    expiry_date: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class PartItemQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: PartItemStatus | None = None
    definition_id: uuid.UUID | None = None
    expiry_before: Timestamp | None = None


def _json(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


# --- part definitions -----------------------------------------------------------------------------


async def create_item(request: web.Request) -> web.Response:
    body = await read_json(request, PartItemCreate)
    item = await request.app[SERVICES].parts.create_item(
        actor_of(request),
        principal_of(request).org_id,
        NewPartItem(body.part_definition_id, body.serial_number, body.expiry_date, body.status),
    )
    location = {"Location": f"/api/v1/part-items/{item.id}"}
    return _json(part_item_body(item), status=201, headers=location)


async def list_items(request: web.Request) -> web.Response:
    query = read_query(request, PartItemQuery)
    page = page_request(request, ITEM_SORTS)
    result = await request.app[SERVICES].parts.list_items(
        principal_of(request).org_id, page, PartItemFilter(query.status, query.definition_id, query.expiry_before)
    )
    return json_response(page_body(result, page, part_item_view))


async def get_item(request: web.Request) -> web.Response:
    item = await request.app[SERVICES].parts.get_item(principal_of(request).org_id, path_id(request))
    return _json(part_item_body(item))


async def update_item(request: web.Request) -> web.Response:
    part_item_id = path_id(request)
    body = await read_json(request, PartItemUpdate)
    changes = parse_payload(PartItemChanges, body.model_dump(exclude_unset=True))  # refuses a null serial or status
    if changes.serial_number is not None:
        normalized_serial_number(changes.serial_number)
    command = UpdatePartItem(part_item_id=part_item_id, changes=changes, expected_version=if_match(request))
    return await send_command(request, command)


async def delete_item(request: web.Request) -> web.Response:
    part_item_id = path_id(request)
    return await send_command(request, DeletePartItem(part_item_id=part_item_id, expected_version=if_match(request)))


_PARTS = Resource.PARTS
_R, _W = Action.READ, Action.WRITE
ROUTES = [
    RouteSpec(
        "POST",
        "/api/v1/part-items",
        create_item,
        "part_items.create",
        "Add a traceable part item",
        (_PARTS, _W),
        "write",
        idempotent=True,
        request_model=PartItemCreate,
        response_model=PartItemOut,
        status=201,
        tag="parts",
    ),
    RouteSpec(
        "GET",
        "/api/v1/part-items",
        list_items,
        "part_items.list",
        "List the organization's part items",
        (_PARTS, _R),
        "read",
        query_model=PartItemQuery,
        response_model=PartItemOut,
        response_is_list=True,
        sorts=tuple(ITEM_SORTS),
        tag="parts",
    ),
    RouteSpec(
        "GET",
        "/api/v1/part-items/{id}",
        get_item,
        "part_items.get",
        "Read a part item",
        (_PARTS, _R),
        "read",
        response_model=PartItemOut,
        tag="parts",
    ),
    RouteSpec(
        "PATCH",
        "/api/v1/part-items/{id}",
        update_item,
        "part_items.update",
        "Change a part item's serial number or expiry, or dispose of it (a command of the part item's actor)",
        (_PARTS, _W),
        "write",
        idempotent=True,
        asynchronous=True,
        request_model=PartItemUpdate,
        response_model=PartItemOut,
        tag="parts",
    ),
    RouteSpec(
        "DELETE",
        "/api/v1/part-items/{id}",
        delete_item,
        "part_items.delete",
        "Soft-delete a part item no reservation holds (a command of the part item's actor)",
        (_PARTS, _W),
        "write",
        asynchronous=True,
        status=204,
        tag="parts",
    ),
]
