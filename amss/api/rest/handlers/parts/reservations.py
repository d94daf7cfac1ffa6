"""Part reservations: read directly; every write (reserving an item, marking a reservation used or
released) is a command of the part item's actor `part:{org_id}:{part_item_id}`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from amss.api.rest.bodies import if_match, json_response, page_body, page_request, path_id, read_json, read_query
from amss.api.rest.context import principal_of
from amss.api.rest.handlers.commands import send_command
from amss.api.rest.routing import RouteSpec
from amss.api.rest.schemas import Body, Out
from amss.api.rest.services import SERVICES
from amss.app.parts.commands import ReservePart, TransitionReservation
from amss.app.parts.ports import ReservationFilter
from amss.app.parts.views import part_reservation_view
from amss.app.sorts import RESERVATION_SORTS
from amss.auth.rbac import Action, Resource
from amss.domain.enums import ReservationState


class ReservationCreate(Body):
    task_id: uuid.UUID
    part_item_id: uuid.UUID
    quantity: int = Field(default=1, ge=1, le=1, description="always 1: a part item is one serialised unit")


class ReservationStateChange(Body):
    state: Literal["used", "released"]


class PartReservationOut(Out):
    """The shape amss.app.parts.views.part_reservation_view renders."""

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


_RESERVATIONS = Resource.PART_RESERVATIONS
_R, _W, _T = Action.READ, Action.WRITE, Action.TRANSITION
ROUTES = [
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
