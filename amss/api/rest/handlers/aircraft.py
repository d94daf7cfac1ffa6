"""The organization's aircraft: create and read directly; update, delete and usage through the aircraft's actor."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from amss.api.rest.bodies import if_match, json_response, page_body, page_request, path_id, read_json, read_query
from amss.api.rest.context import actor_of, principal_of
from amss.api.rest.handlers.commands import send_command
from amss.api.rest.routing import RouteSpec
from amss.api.rest.schemas import Body, FilterText, Name, Out, Timestamp
from amss.api.rest.services import SERVICES
from amss.app.aircraft.commands import AircraftChanges, DeleteAircraft, RecordAircraftUsage, UpdateAircraft
from amss.app.aircraft.ports import AircraftFilter, NewAircraft
from amss.app.aircraft.service import NULLABLE, checked_changes
from amss.app.aircraft.views import aircraft_body, aircraft_view
from amss.app.commands.base import parse_payload
from amss.app.inputs import AircraftCreate, TailNumber
from amss.app.sorts import AIRCRAFT_SORTS
from amss.auth.rbac import Action, Resource
from amss.domain.aircraft import MAX_COUNTER, check_usage_values
from amss.domain.enums import AircraftStatus, GroundingOrigin
from amss.domain.errors import ValidationFailed


class AircraftUpdate(Body):
    NULLABLE: ClassVar[frozenset[str]] = NULLABLE
    tail_number: TailNumber | None = None
    model: Name | None = None
    status: AircraftStatus | None = None
    capacity_slots: int | None = Field(default=None, ge=1, le=MAX_COUNTER)
    last_maintenance: Timestamp | None = None
    next_due: Timestamp | None = None


class UsageReport(Body):
    """Usage flown since the last report, added to the counters."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})
    NULLABLE: ClassVar[frozenset[str]] = frozenset()

    flight_hours: int | None = Field(default=None, ge=0, le=MAX_COUNTER)
    cycles: int | None = Field(default=None, ge=0, le=MAX_COUNTER)


class AircraftOut(Out):
    """The shape amss.app.aircraft.views.aircraft_view renders (a test keeps the two in step)."""

    id: uuid.UUID
    org_id: uuid.UUID
    tail_number: str
    model: str
    status: AircraftStatus
    grounded_by: GroundingOrigin | None = Field(
        description="while grounded, who grounded it: `task` (the system, for a task; released automatically"
        " when the aircraft's tasks are done) or `manual` (a person; released only by a person). Read-only."
    )
    capacity_slots: int
    flight_hours_total: int
    cycles_total: int
    last_maintenance: datetime | None
    next_due: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class AircraftQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: AircraftStatus | None = None
    tail_number: FilterText | None = None
    model: FilterText | None = None


def _aircraft_response(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(status=status, body=body, content_type="application/json", headers=headers)


async def create_aircraft(request: web.Request) -> web.Response:
    body = await read_json(request, AircraftCreate)
    aircraft = await request.app[SERVICES].aircraft.create(
        actor_of(request), principal_of(request).org_id, NewAircraft(**body.model_dump())
    )
    location = {"Location": f"/api/v1/aircraft/{aircraft.id}"}
    return _aircraft_response(aircraft_body(aircraft), status=201, headers=location)


async def list_aircraft(request: web.Request) -> web.Response:
    query = read_query(request, AircraftQuery)
    page = page_request(request, AIRCRAFT_SORTS)
    result = await request.app[SERVICES].aircraft.list_page(
        principal_of(request).org_id, page, AircraftFilter(query.status, query.tail_number, query.model)
    )
    return json_response(page_body(result, page, aircraft_view))


async def get_aircraft(request: web.Request) -> web.Response:
    aircraft = await request.app[SERVICES].aircraft.get(principal_of(request).org_id, path_id(request))
    return _aircraft_response(aircraft_body(aircraft))


async def update_aircraft(request: web.Request) -> web.Response:
    aircraft_id = path_id(request)
    body = await read_json(request, AircraftUpdate)
    given = parse_payload(AircraftChanges, body.model_dump(exclude_unset=True))  # refuses a null that clears nothing
    changes = AircraftChanges.model_validate(checked_changes(given.changes()))
    command = UpdateAircraft(aircraft_id=aircraft_id, changes=changes, expected_version=if_match(request))
    return await send_command(request, command)


async def delete_aircraft(request: web.Request) -> web.Response:
    aircraft_id = path_id(request)
    return await send_command(request, DeleteAircraft(aircraft_id=aircraft_id, expected_version=if_match(request)))


async def record_usage(request: web.Request) -> web.Response:
    aircraft_id = path_id(request)
    body = await read_json(request, UsageReport)
    given = body.model_dump(exclude_unset=True)
    if not given:
        raise ValidationFailed(
            "report flight_hours, cycles or both", {"fields": {"flight_hours": "required", "cycles": "required"}}
        )
    nulls = {name: "must not be null" for name, value in given.items() if value is None}
    if nulls:
        raise ValidationFailed("usage values cannot be null", {"fields": nulls})
    flight_hours, cycles = body.flight_hours or 0, body.cycles or 0
    check_usage_values(flight_hours=flight_hours, cycles=cycles)
    command = RecordAircraftUsage(aircraft_id=aircraft_id, flight_hours=flight_hours, cycles=cycles)
    return await send_command(request, command)


_AIRCRAFT, _R, _W = Resource.AIRCRAFT, Action.READ, Action.WRITE
ROUTES = [
    RouteSpec(
        "POST",
        "/api/v1/aircraft",
        create_aircraft,
        "aircraft.create",
        "Add an aircraft to the organization's fleet",
        (_AIRCRAFT, _W),
        "write",
        idempotent=True,
        request_model=AircraftCreate,
        response_model=AircraftOut,
        status=201,
        tag="aircraft",
    ),
    RouteSpec(
        "GET",
        "/api/v1/aircraft",
        list_aircraft,
        "aircraft.list",
        "List the organization's aircraft",
        (_AIRCRAFT, _R),
        "read",
        query_model=AircraftQuery,
        response_model=AircraftOut,
        response_is_list=True,
        sorts=tuple(AIRCRAFT_SORTS),
        tag="aircraft",
    ),
    RouteSpec(
        "GET",
        "/api/v1/aircraft/{id}",
        get_aircraft,
        "aircraft.get",
        "Read an aircraft",
        (_AIRCRAFT, _R),
        "read",
        response_model=AircraftOut,
        tag="aircraft",
    ),
    RouteSpec(
        "PATCH",
        "/api/v1/aircraft/{id}",
        update_aircraft,
        "aircraft.update",
        "Change an aircraft's fields or, explicitly, its status (a command of the aircraft's actor)",
        (_AIRCRAFT, _W),
        "write",
        idempotent=True,
        asynchronous=True,
        request_model=AircraftUpdate,
        response_model=AircraftOut,
        tag="aircraft",
    ),
    RouteSpec(
        "DELETE",
        "/api/v1/aircraft/{id}",
        delete_aircraft,
        "aircraft.delete",
        "Soft-delete an aircraft without scheduled or in-progress tasks (a command of the aircraft's actor)",
        (_AIRCRAFT, _W),
        "write",
        asynchronous=True,
        status=204,
        tag="aircraft",
    ),
    RouteSpec(
        "POST",
        "/api/v1/aircraft/{id}/usage",
        record_usage,
        "aircraft.usage",
        "Add flown hours and cycles to the aircraft's counters (a command of the aircraft's actor)",
        (_AIRCRAFT, _W),
        "write",
        idempotent=True,
        asynchronous=True,
        request_model=UsageReport,
        response_model=AircraftOut,
        tag="aircraft",
    ),
]
