"""Part definitions, part items and part reservations.

Definitions are created, read, changed and deleted directly; part items are created and read
directly, and changed and deleted through the part item's actor; every reservation write —
reserving an item, marking a reservation used or released — is a command of the part item's
actor `part:{org_id}:{part_item_id}`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from amss.api.rest.bodies import if_match, json_response, page_body, page_request, path_id, read_json, read_query
from amss.api.rest.context import actor_of, principal_of
from amss.api.rest.handlers.commands import send_command
from amss.api.rest.routing import RouteSpec
from amss.api.rest.schemas import Body, FilterText, Name, Out, Timestamp
from amss.api.rest.services import SERVICES
from amss.app.commands.base import parse_payload
from amss.app.commands.parts import DeletePartItem, PartItemChanges, ReservePart, TransitionReservation, UpdatePartItem
from amss.app.inputs import Category, PartDefinitionCreate, PartItemCreate, SerialNumber
from amss.app.parts_ports import (
    NewPartDefinition,
    NewPartItem,
    PartDefinitionFilter,
    PartItemFilter,
    ReservationFilter,
)
from amss.app.sorts import DEFINITION_SORTS, ITEM_SORTS, RESERVATION_SORTS
from amss.app.views import (
    part_definition_view,
    part_item_body,
    part_item_view,
    part_reservation_view,
)
from amss.auth.rbac import Action, Resource
from amss.domain.enums import PartItemStatus, ReservationState
from amss.domain.parts import normalized_serial_number

# --- models ---------------------------------------------------------------------------------------


class PartDefinitionUpdate(Body):
    name: Name | None = None
    category: Category | None = None


class PartDefinitionOut(Out):
    """The shape amss.app.views.part_definition_view renders."""

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


class PartItemUpdate(Body):
    """The limited edits: serial number, a later expiry (never removed), in_stock -> disposed."""

    serial_number: SerialNumber | None = None
    expiry_date: Timestamp | None = None
    status: PartItemStatus | None = None


class PartItemOut(Out):
    """The shape amss.app.views.part_item_view renders."""

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


class ReservationCreate(Body):
    task_id: uuid.UUID
    part_item_id: uuid.UUID
    quantity: int = Field(default=1, ge=1, le=1, description="always 1: a part item is one serialised unit")


class ReservationStateChange(Body):
    state: Literal["used", "released"]


class PartReservationOut(Out):
    """The shape amss.app.views.part_reservation_view renders."""

    id: uuid.UUID
    org_id: uuid.UUID
    task_id: uuid.UUID
    part_item_id: uuid.UUID
    state: ReservationState
    quantity: int
    version: int
    created_at: datetime
    updated_at: datetime


class ReservationQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task_id: uuid.UUID | None = None
    part_item_id: uuid.UUID | None = None
    state: ReservationState | None = None


def _json(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


# --- part definitions -----------------------------------------------------------------------------


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


# --- part items -----------------------------------------------------------------------------------


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


# --- part reservations ----------------------------------------------------------------------------


async def create_reservation(request: web.Request) -> web.Response:
    body = await read_json(request, ReservationCreate)
    return await send_command(request, ReservePart(**body.model_dump()))


async def list_reservations(request: web.Request) -> web.Response:
    query = read_query(request, ReservationQuery)
    page = page_request(request, RESERVATION_SORTS)
    result = await request.app[SERVICES].parts.list_reservations(
        principal_of(request).org_id, page, ReservationFilter(query.task_id, query.part_item_id, query.state)
    )
    return json_response(page_body(result, page, part_reservation_view))


async def get_reservation(request: web.Request) -> web.Response:
    reservation = await request.app[SERVICES].parts.get_reservation(principal_of(request).org_id, path_id(request))
    return json_response(part_reservation_view(reservation))


async def change_reservation_state(request: web.Request) -> web.Response:
    reservation_id = path_id(request)
    body = await read_json(request, ReservationStateChange)
    expected_version = if_match(request)
    # the command runs in the actor of the reservation's part item: find which one first
    reservation = await request.app[SERVICES].parts.get_reservation(principal_of(request).org_id, reservation_id)
    command = TransitionReservation(
        part_item_id=reservation.part_item_id,
        reservation_id=reservation_id,
        state=ReservationState(body.state),
        expected_version=expected_version,
    )
    return await send_command(request, command)


_PARTS, _RESERVATIONS = Resource.PARTS, Resource.PART_RESERVATIONS
_R, _W, _T = Action.READ, Action.WRITE, Action.TRANSITION
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
    RouteSpec(
        "POST",
        "/api/v1/part-reservations",
        create_reservation,
        "part_reservations.create",
        "Reserve an in-stock, unexpired part item for a scheduled or in-progress task (a command of its actor)",
        (_RESERVATIONS, _W),
        "write",
        idempotent=True,
        asynchronous=True,
        request_model=ReservationCreate,
        response_model=PartReservationOut,
        status=201,
        tag="parts",
    ),
    RouteSpec(
        "GET",
        "/api/v1/part-reservations",
        list_reservations,
        "part_reservations.list",
        "List the organization's part reservations",
        (_RESERVATIONS, _R),
        "read",
        query_model=ReservationQuery,
        response_model=PartReservationOut,
        response_is_list=True,
        sorts=tuple(RESERVATION_SORTS),
        tag="parts",
    ),
    RouteSpec(
        "GET",
        "/api/v1/part-reservations/{id}",
        get_reservation,
        "part_reservations.get",
        "Read a part reservation",
        (_RESERVATIONS, _R),
        "read",
        response_model=PartReservationOut,
        tag="parts",
    ),
    RouteSpec(
        "PATCH",
        "/api/v1/part-reservations/{id}/state",
        change_reservation_state,
        "part_reservations.state",
        "Mark a reservation used (the item becomes used) or released (a command of the part item's actor)",
        (_RESERVATIONS, _T),
        "write",
        idempotent=True,
        asynchronous=True,
        request_model=ReservationStateChange,
        response_model=PartReservationOut,
        tag="parts",
    ),
]
