"""Maintenance programs: created, read, changed and soft-deleted directly (no actor; the generator job
submits the program's tasks through the aircraft's actor)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from amss.api.rest.bodies import if_match, json_response, page_body, page_request, path_id, read_json, read_query
from amss.api.rest.context import actor_of, principal_of
from amss.api.rest.routing import RouteSpec
from amss.api.rest.schemas import Body, Name, Out, Timestamp
from amss.api.rest.services import SERVICES
from amss.app.inputs import IntervalValue, ProgramCreate, Usage
from amss.app.programs.ports import NewProgram, ProgramFilter
from amss.app.programs.service import NULLABLE, program_view
from amss.app.sorts import PROGRAM_SORTS
from amss.auth.rbac import Action, Resource
from amss.domain.enums import IntervalType


class ProgramUpdate(Body):
    NULLABLE: ClassVar[frozenset[str]] = NULLABLE
    name: Name | None = None
    interval_value: IntervalValue | None = None
    last_performed: Timestamp | None = None
    last_performed_usage: Usage | None = None


class ProgramOut(Out):
    """The shape amss.app.programs.service.program_view renders."""

    id: uuid.UUID
    org_id: uuid.UUID
    aircraft_id: uuid.UUID | None
    name: str
    interval_type: IntervalType
    interval_value: int
    last_performed: datetime | None
    last_performed_usage: int | None
    version: int
    created_at: datetime
    updated_at: datetime


class ProgramQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    aircraft_id: uuid.UUID | None = None
    interval_type: IntervalType | None = None


async def create_program(request: web.Request) -> web.Response:
    body = await read_json(request, ProgramCreate)
    program = await request.app[SERVICES].programs.create(
        actor_of(request), principal_of(request).org_id, NewProgram(**body.model_dump())
    )
    location = {"Location": f"/api/v1/maintenance-programs/{program.id}"}
    return json_response(program_view(program), status=201, headers=location)


async def list_programs(request: web.Request) -> web.Response:
    query = read_query(request, ProgramQuery)
    page = page_request(request, PROGRAM_SORTS)
    result = await request.app[SERVICES].programs.list_page(
        principal_of(request).org_id, page, ProgramFilter(query.aircraft_id, query.interval_type)
    )
    return json_response(page_body(result, page, program_view))


async def get_program(request: web.Request) -> web.Response:
    program = await request.app[SERVICES].programs.get(principal_of(request).org_id, path_id(request))
    return json_response(program_view(program))


async def update_program(request: web.Request) -> web.Response:
    program_id = path_id(request)
    body = await read_json(request, ProgramUpdate)
    program = await request.app[SERVICES].programs.update(
        actor_of(request),
        principal_of(request).org_id,
        program_id,
        body.model_dump(exclude_unset=True),
        if_match(request),
    )
    return json_response(program_view(program))


async def delete_program(request: web.Request) -> web.Response:
    await request.app[SERVICES].programs.delete(
        actor_of(request), principal_of(request).org_id, path_id(request), if_match(request)
    )
    return web.Response(status=204)


_PROGRAMS, _R, _W = Resource.MAINTENANCE_PROGRAMS, Action.READ, Action.WRITE
ROUTES = [
    RouteSpec(
        "POST",
        "/api/v1/maintenance-programs",
        create_program,
        "maintenance_programs.create",
        "Add a maintenance program (without aircraft_id: a template)",
        (_PROGRAMS, _W),
        "write",
        idempotent=True,
        request_model=ProgramCreate,
        response_model=ProgramOut,
        status=201,
        tag="maintenance-programs",
    ),
    RouteSpec(
        "GET",
        "/api/v1/maintenance-programs",
        list_programs,
        "maintenance_programs.list",
        "List the organization's maintenance programs",
        (_PROGRAMS, _R),
        "read",
        query_model=ProgramQuery,
        response_model=ProgramOut,
        response_is_list=True,
        sorts=tuple(PROGRAM_SORTS),
        tag="maintenance-programs",
    ),
    RouteSpec(
        "GET",
        "/api/v1/maintenance-programs/{id}",
        get_program,
        "maintenance_programs.get",
        "Read a maintenance program",
        (_PROGRAMS, _R),
        "read",
        response_model=ProgramOut,
        tag="maintenance-programs",
    ),
    RouteSpec(
        "PATCH",
        "/api/v1/maintenance-programs/{id}",
        update_program,
        "maintenance_programs.update",
        "Change a program's name, interval or last performance",
        (_PROGRAMS, _W),
        "write",
        request_model=ProgramUpdate,
        response_model=ProgramOut,
        tag="maintenance-programs",
    ),
    RouteSpec(
        "DELETE",
        "/api/v1/maintenance-programs/{id}",
        delete_program,
        "maintenance_programs.delete",
        "Soft-delete a maintenance program",
        (_PROGRAMS, _W),
        "write",
        status=204,
        tag="maintenance-programs",
    ),
]
