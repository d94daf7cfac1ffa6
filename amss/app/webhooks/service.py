"""Webhook use cases: create (the secret shown once), read, list, change, soft delete, test, rotate the
secret, list and redeliver deliveries (plain service calls, no actor).

Every mutation writes its change and exactly one audit row (entity_type `webhook`, never a secret in
its details) in one unit of work. A deleted webhook is gone for every route but its deliveries list,
which stays readable. The test sends a `webhook.test` event through the outbox, naming the delivery
the fan-out is to create for this webhook alone (docs/webhooks.md).
"""

from __future__ import annotations

import asyncio
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from amss.app.paging import Page, PageRequest
from amss.app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from amss.app.views import json_value, utc_text
from amss.app.webhooks.ports import DeliveryFilter, DestinationCheck, WebhookFilter, WebhookRepository
from amss.domain.audit import audit_entry
from amss.domain.enums import AuditAction, WebhookDeliveryStatus
from amss.domain.errors import Conflict, NotFound, ValidationFailed
from amss.domain.events import DomainEvent, EventType, dedupe_key
from amss.domain.principal import Actor
from amss.domain.versioning import changed_values, check_expected_version
from amss.domain.webhooks import Webhook, WebhookDelivery, destination, subscribed_events, url_problem

ENTITY: Final = "webhook"
TEST_EVENT: Final = EventType.WEBHOOK_TEST.value
EDITABLE: Final = ("url", "events", "active")
# how long a rotated-out secret keeps signing beside the new one (docs/api.md: 24 h)
PREVIOUS_SECRET_OVERLAP: Final = timedelta(hours=24)
# a name that takes longer than this to resolve is refused rather than left to hold the request
DESTINATION_CHECK_TIMEOUT: Final = 5.0
_NOT_FOUND: Final = "webhook not found"


def new_secret() -> str:
    """64 lower-case hex characters (32 random bytes): the HMAC key, used as its ASCII text."""
    return secrets.token_hex(32)


def webhook_view(webhook: Webhook) -> dict[str, Any]:
    """A webhook as every read shows it: never a secret."""
    return {
        "id": str(webhook.id),
        "org_id": str(webhook.org_id),
        "url": webhook.url,
        "events": list(webhook.events),
        "active": webhook.active,
        "previous_secret_expires_at": utc_text(webhook.previous_secret_expires_at),
        "version": webhook.version,
        "created_at": utc_text(webhook.created_at),
        "updated_at": utc_text(webhook.updated_at),
    }


def delivery_view(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": str(delivery.id),
        "webhook_id": str(delivery.webhook_id),
        "event_id": str(delivery.event_id),
        "event_type": delivery.event_type,
        "status": delivery.status.value,
        "attempt_count": delivery.attempt_count,
        "next_attempt_at": utc_text(delivery.next_attempt_at),
        "last_response_code": delivery.last_response_code,
        "last_error": delivery.last_error,
        "created_at": utc_text(delivery.created_at),
        "updated_at": utc_text(delivery.updated_at),
    }


@dataclass(frozen=True)
class SentTest:
    event_id: uuid.UUID
    delivery_id: uuid.UUID


def _repo(uow: UnitOfWork) -> WebhookRepository:
    return uow.webhooks


class WebhookService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        *,
        allow_http: bool,
        destination_check: DestinationCheck | None = None,
        check_timeout: float = DESTINATION_CHECK_TIMEOUT,
    ) -> None:
        """`destination_check` (production) refuses hosts that are or resolve to non-public addresses."""
        self._uow = uow
        self._clock = clock
        self._allow_http = allow_http
        self._destination_check = destination_check
        self._check_timeout = check_timeout

    async def _check_url(self, url: str) -> None:
        problem = url_problem(url, allow_http=self._allow_http)
        if problem is not None:
            raise ValidationFailed.on_field("url", problem)
        if self._destination_check is None:
            return
        target = destination(url)
        try:
            async with asyncio.timeout(self._check_timeout):
                await self._destination_check(target.host, target.port)
        except TimeoutError:
            raise ValidationFailed.on_field("url", f"{target.host} did not resolve in time") from None
        except ValueError as exc:
            raise ValidationFailed.on_field("url", f"must reach a public address: {exc}") from None

    async def create(self, actor: Actor, org_id: uuid.UUID, url: str, events: Sequence[str]) -> tuple[Webhook, str]:
        """The new webhook and its secret, which no later read shows."""
        await self._check_url(url)
        subscribed = subscribed_events(events)
        secret = new_secret()
        async with self._uow() as uow:
            webhook = await _repo(uow).add(org_id, url, subscribed, secret)
            details = {"url": webhook.url, "events": list(webhook.events), "active": webhook.active}
            await uow.audit.add(
                audit_entry(actor, org_id, ENTITY, webhook.id, AuditAction.CREATE, webhook.version, details)
            )
            await uow.commit()
        return webhook, secret

    async def get(self, org_id: uuid.UUID, webhook_id: uuid.UUID) -> Webhook:
        async with self._uow() as uow:
            webhook = await _repo(uow).get(org_id, webhook_id)
        if webhook is None:
            raise NotFound(_NOT_FOUND)
        return webhook

    async def list_page(self, org_id: uuid.UUID, page: PageRequest, webhook_filter: WebhookFilter) -> Page[Webhook]:
        async with self._uow() as uow:
            return await _repo(uow).list_page(org_id, page, webhook_filter)

    async def update(
        self,
        actor: Actor,
        org_id: uuid.UUID,
        webhook_id: uuid.UUID,
        changes: Mapping[str, object],
        expected_version: int | None,
    ) -> Webhook:
        checked = dict(changes)
        unknown = sorted(set(checked) - set(EDITABLE))
        if unknown:
            raise ValidationFailed.on_field(unknown[0], "unknown field")
        for name, value in checked.items():
            if value is None:
                raise ValidationFailed.on_field(name, "must not be null")
        events = checked.get("events")
        if isinstance(events, list | tuple):
            checked["events"] = subscribed_events([str(event) for event in events])
        checked_url = None
        if isinstance(url := checked.get("url"), str):
            # a new URL is checked before the row is locked: the check may wait on DNS (production)
            async with self._uow() as uow:
                seen = await _repo(uow).get(org_id, webhook_id)
            if seen is not None and seen.url != url:
                await self._check_url(url)
                checked_url = url
        async with self._uow() as uow:
            repo = _repo(uow)
            current = await repo.get(org_id, webhook_id, for_update=True)
            if current is None:
                raise NotFound(_NOT_FOUND)
            check_expected_version(current.version, expected_version)
            changed = changed_values(current, checked)
            if not changed:
                return current
            if isinstance(url := changed.get("url"), str) and url != checked_url:
                await self._check_url(url)  # the URL changed under us meanwhile: rare, checked under the lock
            updated = await repo.update(current, changed)
            details = {
                "changes": {
                    name: {"from": _audit_value(getattr(current, name)), "to": _audit_value(getattr(updated, name))}
                    for name in sorted(changed)
                }
            }
            await uow.audit.add(
                audit_entry(actor, org_id, ENTITY, updated.id, AuditAction.UPDATE, updated.version, details)
            )
            await uow.commit()
        return updated

    async def delete(
        self, actor: Actor, org_id: uuid.UUID, webhook_id: uuid.UUID, expected_version: int | None
    ) -> None:
        async with self._uow() as uow:
            repo = _repo(uow)
            current = await repo.get(org_id, webhook_id, for_update=True)
            if current is None:
                raise NotFound(_NOT_FOUND)
            check_expected_version(current.version, expected_version)
            deleted = await repo.soft_delete(current, self._clock())
            details = {"url": deleted.url}
            await uow.audit.add(
                audit_entry(actor, org_id, ENTITY, deleted.id, AuditAction.DELETE, deleted.version, details)
            )
            await uow.commit()

    async def send_test(self, actor: Actor, org_id: uuid.UUID, webhook_id: uuid.UUID) -> SentTest:
        """A new `webhook.test` event for this webhook alone (active or not); the fan-out makes its delivery."""
        delivery_id = uuid.uuid4()
        async with self._uow() as uow:
            webhook = await _repo(uow).get(org_id, webhook_id, for_update=True)
            if webhook is None:
                raise NotFound(_NOT_FOUND)
            event = DomainEvent(
                event_type=TEST_EVENT,
                org_id=org_id,
                aggregate_type=ENTITY,
                aggregate_id=webhook.id,
                occurred_at=self._clock(),
                dedupe_key=dedupe_key(TEST_EVENT, org_id, webhook.id, delivery_id),
                data={"delivery_id": str(delivery_id), "test": True},
            )
            event_id = await uow.outbox.add(event)
            details = {"operation": "test", "event_id": str(event_id), "delivery_id": str(delivery_id)}
            await uow.audit.add(
                audit_entry(actor, org_id, ENTITY, webhook.id, AuditAction.CREATE, webhook.version, details)
            )
            await uow.commit()
        return SentTest(event_id, delivery_id)

    async def rotate_secret(self, actor: Actor, org_id: uuid.UUID, webhook_id: uuid.UUID) -> tuple[Webhook, str]:
        """A new secret; the old one keeps signing beside it for PREVIOUS_SECRET_OVERLAP."""
        secret = new_secret()
        async with self._uow() as uow:
            repo = _repo(uow)
            current = await repo.get(org_id, webhook_id, for_update=True)
            if current is None:
                raise NotFound(_NOT_FOUND)
            rotated = await repo.rotate_secret(current, secret, self._clock() + PREVIOUS_SECRET_OVERLAP)
            details = {
                "operation": "rotate_secret",
                "previous_secret_expires_at": utc_text(rotated.previous_secret_expires_at),
            }
            await uow.audit.add(
                audit_entry(actor, org_id, ENTITY, rotated.id, AuditAction.UPDATE, rotated.version, details)
            )
            await uow.commit()
        return rotated, secret

    async def deliveries_page(
        self, org_id: uuid.UUID, webhook_id: uuid.UUID, page: PageRequest, delivery_filter: DeliveryFilter
    ) -> Page[WebhookDelivery]:
        """A deleted webhook's deliveries stay readable (its history); another organization's are not found."""
        async with self._uow() as uow:
            repo = _repo(uow)
            if await repo.get(org_id, webhook_id, include_deleted=True) is None:
                raise NotFound(_NOT_FOUND)
            return await repo.deliveries_page(org_id, webhook_id, page, delivery_filter)

    async def redeliver(
        self, actor: Actor, org_id: uuid.UUID, webhook_id: uuid.UUID, delivery_id: uuid.UUID
    ) -> WebhookDelivery:
        """A failed delivery goes back to pending with a fresh attempt budget; any other status is 409."""
        async with self._uow() as uow:
            repo = _repo(uow)
            webhook = await repo.get(org_id, webhook_id, for_update=True)
            if webhook is None:
                raise NotFound(_NOT_FOUND)
            current = await repo.get_delivery(org_id, webhook_id, delivery_id, for_update=True)
            if current is None:
                raise NotFound("webhook delivery not found")
            if current.status is not WebhookDeliveryStatus.FAILED:
                raise Conflict(
                    f"only a failed delivery can be redelivered; this one is {current.status.value}",
                    {"delivery_id": str(current.id), "status": current.status.value},
                )
            if not webhook.active and current.event_type != TEST_EVENT:
                raise Conflict(
                    "the webhook is inactive: set active to true before redelivering its events",
                    {"delivery_id": str(current.id), "active": False},
                )
            redelivered = await repo.redeliver(current, self._clock())
            details = {
                "operation": "redeliver",
                "delivery_id": str(current.id),
                "from": current.status.value,
                "to": redelivered.status.value,
                "attempt_count_before": current.attempt_count,
            }
            await uow.audit.add(
                audit_entry(actor, org_id, ENTITY, webhook.id, AuditAction.STATE_CHANGE, webhook.version, details)
            )
            await uow.commit()
        return redelivered


def _audit_value(value: object) -> object:
    if isinstance(value, tuple):
        return list(value)
    return json_value(value)
