"""Webhooks and their deliveries in Postgres: the organization's rows, version-checked writes, the secrets
written but never read back (the dispatcher's own repository reads them to sign).

Deliveries are made by the fan-out (amss/jobs); here they are only listed and redelivered. Their
`event_type` is copied from the outbox event by a trigger (migration 00020), so a list filtered by
type is an index range of one table.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

import asyncpg

from amss.app.paging import Page, PageRequest
from amss.app.sorts import DELIVERY_SORTS, WEBHOOK_SORTS
from amss.app.webhooks.ports import DeliveryFilter, WebhookFilter
from amss.domain.enums import WebhookDeliveryStatus
from amss.domain.errors import Conflict
from amss.domain.webhooks import Webhook, WebhookDelivery
from amss.infra.postgres.listing import Where, fetch_page
from amss.infra.postgres.organizations_repo import set_clause
from amss.infra.postgres.sql import Connection, fetch_one, soft_delete_row

WEBHOOK_COLUMNS: Final = (
    "id, org_id, url, events, active, version, created_at, updated_at, deleted_at, previous_secret_expires_at"
)
DELIVERY_COLUMNS: Final = (
    "id, org_id, webhook_id, event_id, event_type, status::text AS status, attempt_count, next_attempt_at,"
    " last_response_code, last_error, created_at, updated_at"
)
_UPDATABLE = frozenset({"url", "events", "active"})
_CHANGED_CONCURRENTLY = "the webhook was changed concurrently; read it again"


def webhook_from_row(row: asyncpg.Record) -> Webhook:
    values = dict(row)
    values["events"] = tuple(values["events"])
    return Webhook(**values)


def delivery_from_row(row: asyncpg.Record) -> WebhookDelivery:
    values = dict(row)
    values["status"] = WebhookDeliveryStatus(values["status"])
    return WebhookDelivery(**values)


class PgWebhookRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    async def add(self, org_id: uuid.UUID, url: str, events: tuple[str, ...], secret: str) -> Webhook:
        row = await fetch_one(
            self._conn,
            f"INSERT INTO webhooks (org_id, url, events, secret) VALUES ($1, $2, $3, $4) RETURNING {WEBHOOK_COLUMNS}",
            org_id,
            url,
            list(events),
            secret,
        )
        return webhook_from_row(row)

    async def get(
        self, org_id: uuid.UUID, webhook_id: uuid.UUID, *, for_update: bool = False, include_deleted: bool = False
    ) -> Webhook | None:
        live = "" if include_deleted else " AND deleted_at IS NULL"
        lock = " FOR UPDATE" if for_update else ""
        row = await self._conn.fetchrow(
            f"SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE org_id = $1 AND id = $2{live}{lock}", org_id, webhook_id
        )
        return webhook_from_row(row) if row else None

    async def list_page(self, org_id: uuid.UUID, page: PageRequest, webhook_filter: WebhookFilter) -> Page[Webhook]:
        where = Where("org_id = {}", org_id).add("deleted_at IS NULL")
        where.add_if(webhook_filter.active, "active = {}")
        return await fetch_page(
            self._conn, f"SELECT {WEBHOOK_COLUMNS} FROM webhooks", where, page, WEBHOOK_SORTS, webhook_from_row
        )

    async def update(self, current: Webhook, changes: dict[str, Any]) -> Webhook:
        values = {name: list(value) if name == "events" else value for name, value in changes.items()}
        assignments, args = set_clause(values, _UPDATABLE, 4)
        row = await self._conn.fetchrow(
            f"UPDATE webhooks SET {assignments} WHERE org_id = $1 AND id = $2 AND version = $3"
            f" AND deleted_at IS NULL RETURNING {WEBHOOK_COLUMNS}",
            current.org_id,
            current.id,
            current.version,
            *args,
        )
        if row is None:
            raise Conflict(_CHANGED_CONCURRENTLY)
        return webhook_from_row(row)

    async def rotate_secret(self, current: Webhook, new_secret: str, previous_expires_at: datetime) -> Webhook:
        row = await self._conn.fetchrow(
            "UPDATE webhooks SET previous_secret = secret, previous_secret_expires_at = $4, secret = $5,"
            " version = version + 1, updated_at = now()"
            f" WHERE org_id = $1 AND id = $2 AND version = $3 AND deleted_at IS NULL RETURNING {WEBHOOK_COLUMNS}",
            current.org_id,
            current.id,
            current.version,
            previous_expires_at,
            new_secret,
        )
        if row is None:
            raise Conflict(_CHANGED_CONCURRENTLY)
        return webhook_from_row(row)

    async def soft_delete(self, current: Webhook, at: datetime) -> Webhook:
        row = await soft_delete_row(self._conn, "webhooks", WEBHOOK_COLUMNS, current, at, _CHANGED_CONCURRENTLY)
        return webhook_from_row(row)

    async def deliveries_page(
        self, org_id: uuid.UUID, webhook_id: uuid.UUID, page: PageRequest, delivery_filter: DeliveryFilter
    ) -> Page[WebhookDelivery]:
        where = Where("org_id = {}", org_id).add("webhook_id = {}", webhook_id)
        status = delivery_filter.status.value if delivery_filter.status else None
        where.add_if(status, "status = {}::webhook_delivery_status")
        where.add_if(delivery_filter.event_type, "event_type = {}")
        return await fetch_page(
            self._conn,
            f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries",
            where,
            page,
            DELIVERY_SORTS,
            delivery_from_row,
        )

    async def get_delivery(
        self, org_id: uuid.UUID, webhook_id: uuid.UUID, delivery_id: uuid.UUID, *, for_update: bool = False
    ) -> WebhookDelivery | None:
        lock = " FOR UPDATE" if for_update else ""
        row = await self._conn.fetchrow(
            f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries"
            f" WHERE org_id = $1 AND webhook_id = $2 AND id = $3{lock}",
            org_id,
            webhook_id,
            delivery_id,
        )
        return delivery_from_row(row) if row else None

    async def redeliver(self, current: WebhookDelivery, at: datetime) -> WebhookDelivery:
        # last_error and last_response_code stay until the next attempt overwrites them
        row = await self._conn.fetchrow(
            "UPDATE webhook_deliveries SET status = 'pending', attempt_count = 0, next_attempt_at = $4,"
            " locked_at = NULL, locked_by = NULL, updated_at = now()"
            " WHERE org_id = $1 AND webhook_id = $2 AND id = $3 AND status = 'failed'"
            f" RETURNING {DELIVERY_COLUMNS}",
            current.org_id,
            current.webhook_id,
            current.id,
            at,
        )
        if row is None:
            raise Conflict("the delivery changed concurrently; read it again")
        return delivery_from_row(row)
