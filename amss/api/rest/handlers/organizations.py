"""Organizations and their policies."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from amss.api.rest.bodies import if_match, json_response, page_body, page_request, path_id, read_json, read_query
from amss.api.rest.context import actor_of, principal_of
from amss.api.rest.routing import RouteSpec
from amss.api.rest.schemas import Body, FilterText, Name, Out
from amss.api.rest.services import SERVICES
from amss.app.sorts import ORGANIZATION_SORTS
from amss.auth.rbac import Action, Resource
from amss.domain.errors import ValidationFailed
from amss.domain.organizations import POLICY_LIMITS, RATE_LIMIT_CATEGORIES


class OrganizationCreate(Body):
    name: Name


class OrganizationUpdate(Body):
    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    name: Name | None = None


class OrganizationOut(Out):
    id: uuid.UUID
    name: str
    version: int
    created_at: datetime
    updated_at: datetime


class OrganizationQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: FilterText | None = None


def _bounded(name: str) -> Any:
    """A policy value's field, declaring the range POLICY_LIMITS (and the table's CHECK) allows."""
    low, high = POLICY_LIMITS[name]
    return Field(default=None, ge=low, le=high)


class PolicyUpdate(Body):
    retention_interval: timedelta | None = Field(
        default=None, description="ISO 8601 duration (e.g. P365D) or seconds; at least one day"
    )
    max_webhook_attempts: int | None = _bounded("max_webhook_attempts")
    webhook_replay_window_seconds: int | None = _bounded("webhook_replay_window_seconds")
    api_rate_limit_per_min: int | None = _bounded("api_rate_limit_per_min")
    api_key_rate_limit_per_min: int | None = _bounded("api_key_rate_limit_per_min")
    rate_limits: dict[str, int] | None = Field(
        default=None,
        description="per-category overrides of api_rate_limit_per_min: auth, read, write, import, export",
        json_schema_extra={
            "propertyNames": {"enum": list(RATE_LIMIT_CATEGORIES)},
            "additionalProperties": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
        },
    )


class PolicyOut(Out):
    org_id: uuid.UUID
    retention_interval: timedelta
    max_webhook_attempts: int
    webhook_replay_window_seconds: int
    api_rate_limit_per_min: int
    api_key_rate_limit_per_min: int
    rate_limits: dict[str, int]
    version: int
    created_at: datetime
    updated_at: datetime


def _out(organization: object) -> OrganizationOut:
    return OrganizationOut.model_validate(organization)


async def create_organization(request: web.Request) -> web.Response:
    body = await read_json(request, OrganizationCreate)
    organization = await request.app[SERVICES].organizations.create(actor_of(request), body.name)
    location = f"/api/v1/organizations/{organization.id}"
    return json_response(_out(organization), status=201, headers={"Location": location})


async def list_organizations(request: web.Request) -> web.Response:
    query = read_query(request, OrganizationQuery)
    page = page_request(request, ORGANIZATION_SORTS)
    result = await request.app[SERVICES].organizations.list_page(page, query.name)
    return json_response(page_body(result, page, _out))


async def get_organization(request: web.Request) -> web.Response:
    organization = await request.app[SERVICES].organizations.get(principal_of(request), path_id(request))
    return json_response(_out(organization))


async def update_organization(request: web.Request) -> web.Response:
    org_id = path_id(request)
    body = await read_json(request, OrganizationUpdate)
    organization = await request.app[SERVICES].organizations.update(
        actor_of(request), principal_of(request), org_id, body.model_dump(exclude_unset=True), if_match(request)
    )
    return json_response(_out(organization))


async def get_policy(request: web.Request) -> web.Response:
    policy = await request.app[SERVICES].organizations.get_policy(principal_of(request), path_id(request))
    return json_response(PolicyOut.model_validate(policy))


async def update_policy(request: web.Request) -> web.Response:
    org_id = path_id(request)
    body = await read_json(request, PolicyUpdate)
    changes = body.model_dump(exclude_unset=True)
    nulls = {name: "must not be null" for name, value in changes.items() if value is None}
    if nulls:
        raise ValidationFailed("policy values cannot be null", {"fields": nulls})
    policy = await request.app[SERVICES].organizations.update_policy(
        actor_of(request), principal_of(request), org_id, changes, if_match(request)
    )
    return json_response(PolicyOut.model_validate(policy))


_ORGS, _POLICY = Resource.ORGANIZATIONS, Resource.ORG_POLICY
_R, _W = Action.READ, Action.WRITE
ROUTES = [
    RouteSpec(
        "POST",
        "/api/v1/organizations",
        create_organization,
        "organizations.create",
        "Create an organization (admin)",
        (_ORGS, _W),
        "write",
        admin_only=True,
        idempotent=True,
        request_model=OrganizationCreate,
        response_model=OrganizationOut,
        status=201,
        tag="organizations",
    ),
    RouteSpec(
        "GET",
        "/api/v1/organizations",
        list_organizations,
        "organizations.list",
        "List organizations (admin)",
        (_ORGS, _R),
        "read",
        admin_only=True,
        query_model=OrganizationQuery,
        response_model=OrganizationOut,
        response_is_list=True,
        sorts=tuple(ORGANIZATION_SORTS),
        tag="organizations",
    ),
    RouteSpec(
        "GET",
        "/api/v1/organizations/{id}",
        get_organization,
        "organizations.get",
        "Read an organization (admin: any; others: their own)",
        (_ORGS, _R),
        "read",
        response_model=OrganizationOut,
        tag="organizations",
    ),
    RouteSpec(
        "PATCH",
        "/api/v1/organizations/{id}",
        update_organization,
        "organizations.update",
        "Update an organization (admin, or its tenant_admin)",
        (_ORGS, _W),
        "write",
        request_model=OrganizationUpdate,
        response_model=OrganizationOut,
        tag="organizations",
    ),
    RouteSpec(
        "GET",
        "/api/v1/organizations/{id}/policy",
        get_policy,
        "organizations.policy.get",
        "Read an organization's policy",
        (_POLICY, _R),
        "read",
        response_model=PolicyOut,
        tag="organizations",
    ),
    RouteSpec(
        "PATCH",
        "/api/v1/organizations/{id}/policy",
        update_policy,
        "organizations.policy.update",
        "Update an organization's policy",
        (_POLICY, _W),
        "write",
        request_model=PolicyUpdate,
        response_model=PolicyOut,
        tag="organizations",
    ),
]
