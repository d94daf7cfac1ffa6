"""Webhooks (tenant_admin and admin): subscriptions, their test event, secret rotation, deliveries and redelivery.

Plain service calls (no actor). The secret is in the answer to POST /webhooks and to rotate-secret
only; every other body is the view of amss.app.webhooks.service.webhook_view, without it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from amss.api.rest.bodies import if_match, json_response, page_body, page_request, path_id, read_json, read_query
from amss.api.rest.context import actor_of, principal_of
from amss.api.rest.routing import RouteSpec
from amss.api.rest.schemas import Body, Out
from amss.api.rest.services import SERVICES
from amss.app.sorts import DELIVERY_SORTS, WEBHOOK_SORTS
from amss.app.webhooks.ports import DeliveryFilter, WebhookFilter
from amss.app.webhooks.service import delivery_view, webhook_view
from amss.auth.rbac import Action, Resource
from amss.domain.enums import WebhookDeliveryStatus
from amss.domain.events import EventType
from amss.domain.webhooks import MAX_EVENTS, MAX_URL_LENGTH

Events = Annotated[list[EventType], Field(min_length=1, max_length=MAX_EVENTS * 4)]
WebhookUrl = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_URL_LENGTH,
        description="https:// (http:// outside production unless WEBHOOK_ALLOW_HTTP=false); no credentials, "
        "no fragment; in production the host must be public",
        json_schema_extra={"pattern": "^[hH][tT][tT][pP][sS]?://"},
    ),
]


class WebhookCreate(Body):
    url: WebhookUrl
    events: Events


class WebhookUpdate(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    url: WebhookUrl | None = None
    events: Events | None = None
    active: bool | None = None


class WebhookOut(Out):
    """The shape amss.app.webhooks.service.webhook_view renders."""

    id: uuid.UUID
    org_id: uuid.UUID
    url: str
    events: list[str]
    active: bool
    previous_secret_expires_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class WebhookWithSecretOut(WebhookOut):
    secret: str = Field(description="64 hex characters, the HMAC key as text; shown only in this answer")


class WebhookTestOut(Out):
    event_id: uuid.UUID
    delivery_id: uuid.UUID


class DeliveryOut(Out):
    """The shape amss.app.webhooks.service.delivery_view renders."""

    id: uuid.UUID
    webhook_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    status: WebhookDeliveryStatus
    attempt_count: int
    next_attempt_at: datetime
    last_response_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class WebhookQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    active: bool | None = None


class DeliveryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: WebhookDeliveryStatus | None = None
    event_type: EventType | None = None


def _progress(request: web.Request) -> dict[str, str]:
    """A 202's Location: the webhook's deliveries, where the queued delivery's progress shows."""
    return {"Location": f"/api/v1/webhooks/{request.match_info['id']}/deliveries"}


async def create_webhook(request: web.Request) -> web.Response:
    body = await read_json(request, WebhookCreate)
    webhook, secret = await request.app[SERVICES].webhooks.create(
        actor_of(request), principal_of(request).org_id, body.url, [event.value for event in body.events]
    )
    location = {"Location": f"/api/v1/webhooks/{webhook.id}"}
    return json_response({**webhook_view(webhook), "secret": secret}, status=201, headers=location)


async def list_webhooks(request: web.Request) -> web.Response:
    query = read_query(request, WebhookQuery)
    page = page_request(request, WEBHOOK_SORTS)
    result = await request.app[SERVICES].webhooks.list_page(
        principal_of(request).org_id, page, WebhookFilter(query.active)
    )
    return json_response(page_body(result, page, webhook_view))


async def get_webhook(request: web.Request) -> web.Response:
    webhook = await request.app[SERVICES].webhooks.get(principal_of(request).org_id, path_id(request))
    return json_response(webhook_view(webhook))


async def update_webhook(request: web.Request) -> web.Response:
    webhook_id = path_id(request)
    body = await read_json(request, WebhookUpdate)
    webhook = await request.app[SERVICES].webhooks.update(
        actor_of(request),
        principal_of(request).org_id,
        webhook_id,
        body.model_dump(exclude_unset=True),
        if_match(request),
    )
    return json_response(webhook_view(webhook))


async def delete_webhook(request: web.Request) -> web.Response:
    webhook_id = path_id(request)
    await request.app[SERVICES].webhooks.delete(
        actor_of(request), principal_of(request).org_id, webhook_id, if_match(request)
    )
    return web.Response(status=204)


async def send_test(request: web.Request) -> web.Response:
    sent = await request.app[SERVICES].webhooks.send_test(
        actor_of(request), principal_of(request).org_id, path_id(request)
    )
    body = {"event_id": str(sent.event_id), "delivery_id": str(sent.delivery_id)}
    return json_response(body, status=202, headers=_progress(request))


async def rotate_secret(request: web.Request) -> web.Response:
    webhook, secret = await request.app[SERVICES].webhooks.rotate_secret(
        actor_of(request), principal_of(request).org_id, path_id(request)
    )
    return json_response({**webhook_view(webhook), "secret": secret})


async def list_deliveries(request: web.Request) -> web.Response:
    webhook_id = path_id(request)
    query = read_query(request, DeliveryQuery)
    page = page_request(request, DELIVERY_SORTS, default_sort="-created_at")
    event_type = query.event_type.value if query.event_type else None
    result = await request.app[SERVICES].webhooks.deliveries_page(
        principal_of(request).org_id, webhook_id, page, DeliveryFilter(query.status, event_type)
    )
    return json_response(page_body(result, page, delivery_view))


async def redeliver(request: web.Request) -> web.Response:
    webhook_id, delivery_id = path_id(request), path_id(request, "delivery_id")
    delivery = await request.app[SERVICES].webhooks.redeliver(
        actor_of(request), principal_of(request).org_id, webhook_id, delivery_id
    )
    return json_response(delivery_view(delivery), status=202, headers=_progress(request))


_WEBHOOKS, _R, _W = Resource.WEBHOOKS, Action.READ, Action.WRITE
_ONE = "/api/v1/webhooks/{id}"
ROUTES = [
    RouteSpec(
        "POST",
        "/api/v1/webhooks",
        create_webhook,
        "webhooks.create",
        "Subscribe a URL to event types; the answer carries the signing secret, shown this once",
        (_WEBHOOKS, _W),
        "write",
        idempotent=True,
        request_model=WebhookCreate,
        response_model=WebhookWithSecretOut,
        status=201,
        tag="webhooks",
    ),
    RouteSpec(
        "GET",
        "/api/v1/webhooks",
        list_webhooks,
        "webhooks.list",
        "List the organization's webhooks (never their secrets)",
        (_WEBHOOKS, _R),
        "read",
        query_model=WebhookQuery,
        response_model=WebhookOut,
        response_is_list=True,
        sorts=tuple(WEBHOOK_SORTS),
        tag="webhooks",
    ),
    RouteSpec(
        "GET",
        _ONE,
        get_webhook,
        "webhooks.get",
        "Read a webhook (never its secret)",
        (_WEBHOOKS, _R),
        "read",
        response_model=WebhookOut,
        tag="webhooks",
    ),
    RouteSpec(
        "PATCH",
        _ONE,
        update_webhook,
        "webhooks.update",
        "Change a webhook's URL, event types or active flag",
        (_WEBHOOKS, _W),
        "write",
        request_model=WebhookUpdate,
        response_model=WebhookOut,
        tag="webhooks",
    ),
    RouteSpec(
        "DELETE",
        _ONE,
        delete_webhook,
        "webhooks.delete",
        "Soft-delete a webhook: no new deliveries; its deliveries stay listed",
        (_WEBHOOKS, _W),
        "write",
        status=204,
        tag="webhooks",
    ),
    RouteSpec(
        "POST",
        f"{_ONE}/test",
        send_test,
        "webhooks.test",
        "Send a new webhook.test event to this webhook alone, through the outbox and the dispatcher",
        (_WEBHOOKS, _W),
        "write",
        idempotent=True,
        response_model=WebhookTestOut,
        status=202,
        tag="webhooks",
    ),
    RouteSpec(
        "POST",
        f"{_ONE}/rotate-secret",
        rotate_secret,
        "webhooks.rotate_secret",
        "A new signing secret (in this answer only); the old one also signs for 24 h",
        (_WEBHOOKS, _W),
        "write",
        idempotent=True,
        response_model=WebhookWithSecretOut,
        tag="webhooks",
    ),
    RouteSpec(
        "GET",
        f"{_ONE}/deliveries",
        list_deliveries,
        "webhooks.deliveries.list",
        "List a webhook's deliveries, newest first (also of a deleted webhook)",
        (_WEBHOOKS, _R),
        "read",
        query_model=DeliveryQuery,
        response_model=DeliveryOut,
        response_is_list=True,
        sorts=tuple(DELIVERY_SORTS),
        tag="webhooks",
    ),
    RouteSpec(
        "POST",
        f"{_ONE}/deliveries/{{delivery_id}}/redeliver",
        redeliver,
        "webhooks.deliveries.redeliver",
        "Send a failed delivery again, with a fresh attempt budget (409 unless it failed)",
        (_WEBHOOKS, _W),
        "write",
        idempotent=True,
        response_model=DeliveryOut,
        status=202,
        tag="webhooks",
    ),
]
