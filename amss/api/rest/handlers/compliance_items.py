"""Compliance items: read directly; create, edit and sign off through the actor of the task's aircraft."""

from __future__ import annotations

import uuid
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from amss.api.rest.bodies import if_match, json_response, page_body, page_request, path_id, read_json, read_query
from amss.api.rest.context import principal_of
from amss.api.rest.handlers.commands import send_command
from amss.api.rest.handlers.maintenance_tasks import ComplianceItemOut
from amss.api.rest.routing import RouteSpec
from amss.api.rest.schemas import Body
from amss.api.rest.services import SERVICES
from amss.app.sorts import COMPLIANCE_SORTS
from amss.app.tasks.commands import CreateComplianceItem, SignOffComplianceItem, UpdateComplianceItem
from amss.app.tasks.ports import ComplianceFilter
from amss.app.tasks.views import compliance_body, compliance_view
from amss.auth.rbac import Action, Resource
from amss.domain.compliance import check_new_result, normalized_description
from amss.domain.enums import ComplianceResult

Description = Annotated[str, Field(min_length=1, max_length=10_000)]


class ComplianceCreate(Body):
    task_id: uuid.UUID
    description: Description
    result: ComplianceResult = Field(
        default=ComplianceResult.PENDING, description="pending only (the default): sign-off records pass or fail"
    )


class ComplianceUpdate(Body):
    description: Description


class SignOff(Body):
    # a sign-off decides: pending is refused
    result: Annotated[ComplianceResult, WithJsonSchema({"type": "string", "enum": ["pass", "fail"]})]


class ComplianceQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    task_id: uuid.UUID | None = None
    result: ComplianceResult | None = None
    signed: bool | None = None


async def create_item(request: web.Request) -> web.Response:
    body = await read_json(request, ComplianceCreate)
    check_new_result(body.result)
    description = normalized_description(body.description)
    org_id = principal_of(request).org_id
    aircraft_id = await request.app[SERVICES].compliance.aircraft_of_task(org_id, body.task_id)
    command = CreateComplianceItem(aircraft_id=aircraft_id, task_id=body.task_id, description=description)
    return await send_command(request, command)


async def list_items(request: web.Request) -> web.Response:
    query = read_query(request, ComplianceQuery)
    page = page_request(request, COMPLIANCE_SORTS)
    result = await request.app[SERVICES].compliance.list_page(
        principal_of(request).org_id, page, ComplianceFilter(query.task_id, query.result, query.signed)
    )
    return json_response(page_body(result, page, compliance_view))


async def get_item(request: web.Request) -> web.Response:
    item = await request.app[SERVICES].compliance.get(principal_of(request).org_id, path_id(request))
    return web.Response(body=compliance_body(item), content_type="application/json")


async def update_item(request: web.Request) -> web.Response:
    item_id = path_id(request)
    body = await read_json(request, ComplianceUpdate)
    expected_version = if_match(request)
    aircraft_id = await _aircraft_of(request, item_id)
    command = UpdateComplianceItem(
        aircraft_id=aircraft_id, item_id=item_id, description=body.description, expected_version=expected_version
    )
    return await send_command(request, command)


async def sign_off_item(request: web.Request) -> web.Response:
    item_id = path_id(request)
    body = await read_json(request, SignOff)
    aircraft_id = await _aircraft_of(request, item_id)
    return await send_command(
        request, SignOffComplianceItem(aircraft_id=aircraft_id, item_id=item_id, result=body.result)
    )


async def _aircraft_of(request: web.Request, item_id: uuid.UUID) -> uuid.UUID:
    """An item's commands run in its task's aircraft's actor; an item never moves to another task."""
    return await request.app[SERVICES].compliance.aircraft_of_item(principal_of(request).org_id, item_id)


_ITEMS, _R, _W, _S = Resource.COMPLIANCE_ITEMS, Action.READ, Action.WRITE, Action.SIGN_OFF
ROUTES = [
    RouteSpec(
        "POST",
        "/api/v1/compliance-items",
        create_item,
        "compliance_items.create",
        "Add a compliance item to a scheduled or in-progress task (a command of the task's aircraft's actor)",
        (_ITEMS, _W),
        "write",
        idempotent=True,
        asynchronous=True,
        request_model=ComplianceCreate,
        response_model=ComplianceItemOut,
        status=201,
        tag="compliance-items",
    ),
    RouteSpec(
        "GET",
        "/api/v1/compliance-items",
        list_items,
        "compliance_items.list",
        "List the organization's compliance items",
        (_ITEMS, _R),
        "read",
        query_model=ComplianceQuery,
        response_model=ComplianceItemOut,
        response_is_list=True,
        sorts=tuple(COMPLIANCE_SORTS),
        tag="compliance-items",
    ),
    RouteSpec(
        "GET",
        "/api/v1/compliance-items/{id}",
        get_item,
        "compliance_items.get",
        "Read a compliance item",
        (_ITEMS, _R),
        "read",
        response_model=ComplianceItemOut,
        tag="compliance-items",
    ),
    RouteSpec(
        "PATCH",
        "/api/v1/compliance-items/{id}",
        update_item,
        "compliance_items.update",
        "Change a compliance item's description before sign-off; a signed item is 409",
        (_ITEMS, _W),
        "write",
        idempotent=True,
        asynchronous=True,
        request_model=ComplianceUpdate,
        response_model=ComplianceItemOut,
        tag="compliance-items",
    ),
    RouteSpec(
        "PATCH",
        "/api/v1/compliance-items/{id}/sign-off",
        sign_off_item,
        "compliance_items.sign_off",
        "Sign a compliance item off with pass or fail (its task's mechanic or an admin); immutable afterwards",
        (_ITEMS, _S),
        "write",
        idempotent=True,
        asynchronous=True,
        request_model=SignOff,
        response_model=ComplianceItemOut,
        tag="compliance-items",
    ),
]
