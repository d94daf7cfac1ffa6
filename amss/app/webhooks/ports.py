"""The ports of the webhook use cases: filters, the repository, and the destination check of production.

Kept apart from amss/app/ports.py (which only names the repositories on the unit of work).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from amss.app.paging import Page, PageRequest
from amss.domain.enums import WebhookDeliveryStatus
from amss.domain.webhooks import Webhook, WebhookDelivery

# Raises ValueError (NonPublicDestinationError in production) naming why a host:port may not receive
# webhooks: the composition root passes amss.infra.http.public_resolver.refuse_non_public in production.
DestinationCheck = Callable[[str, int], Awaitable[None]]


@dataclass(frozen=True)
class WebhookFilter:
    active: bool | None = None


@dataclass(frozen=True)
class DeliveryFilter:
    status: WebhookDeliveryStatus | None = None
    event_type: str | None = None


class WebhookRepository(Protocol):
    async def add(self, org_id: uuid.UUID, url: str, events: tuple[str, ...], secret: str) -> Webhook: ...
    async def get(
        self, org_id: uuid.UUID, webhook_id: uuid.UUID, *, for_update: bool = False, include_deleted: bool = False
    ) -> Webhook | None: ...
    async def list_page(self, org_id: uuid.UUID, page: PageRequest, webhook_filter: WebhookFilter) -> Page[Webhook]: ...
    async def update(self, current: Webhook, changes: dict[str, Any]) -> Webhook: ...
    async def rotate_secret(self, current: Webhook, new_secret: str, previous_expires_at: datetime) -> Webhook:
        """The current secret becomes the previous one (until `previous_expires_at`), `new_secret` the current."""
        ...

    async def soft_delete(self, current: Webhook, at: datetime) -> Webhook: ...
    async def deliveries_page(
        self, org_id: uuid.UUID, webhook_id: uuid.UUID, page: PageRequest, delivery_filter: DeliveryFilter
    ) -> Page[WebhookDelivery]: ...
    async def get_delivery(
        self, org_id: uuid.UUID, webhook_id: uuid.UUID, delivery_id: uuid.UUID, *, for_update: bool = False
    ) -> WebhookDelivery | None: ...
    async def redeliver(self, current: WebhookDelivery, at: datetime) -> WebhookDelivery:
        """A failed delivery back to pending, due at `at`, with a fresh attempt budget and no lock."""
        ...
