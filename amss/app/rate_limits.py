"""Rate limits, whatever the front: the limiter port, the per-organization policy and the rules REST and gRPC share.

Limits are per minute over a sliding window (the limiter, amss/infra/redis/rate_limit.py, passed in
by the composition root). Per organization and category (`auth`, `read`, `write`, `import`,
`export`) for an authenticated call, limits from `org_policies`; per client IP on the anonymous auth
routes; per e-mail address on failed logins. When the limiter cannot be reached the auth category
fails closed (an unthrottled login is a password-guessing oracle) and every other fails open.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Protocol

from amss.domain.organizations import OrgPolicy

WINDOW_SECONDS: Final = 60
# org_policies.api_rate_limit_per_min's column default, for an organization without a policy row
DEFAULT_RATE_LIMIT_PER_MIN: Final = 100
FAIL_CLOSED_CATEGORIES: Final = frozenset({"auth"})

PolicyLoader = Callable[[uuid.UUID], Awaitable[OrgPolicy | None]]
MonotonicClock = Callable[[], float]


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    limit: int
    remaining: int
    # seconds until the oldest admitted hit leaves the window (when rejected: until one is admitted again)
    reset_seconds: int
    # >= 1 when rejected, 0 when allowed
    retry_after_seconds: int


class RateLimiterUnavailable(Exception):
    """The limiter's store could not be reached (the cause is chained)."""


class RateLimiter(Protocol):
    async def hit(self, key_parts: tuple[str, ...], limit: int, window_seconds: int = 60) -> RateDecision:
        """Admit and record one hit if fewer than `limit` were admitted in the last window.

        Raises RateLimiterUnavailable when the store cannot be reached."""
        ...


class PolicyCache:
    """Each organization's policy, loaded at most once per `ttl_seconds`: a policy change applies within that."""

    def __init__(
        self,
        load: PolicyLoader,
        ttl_seconds: float = 10.0,
        clock: MonotonicClock = time.monotonic,
        max_entries: int = 10_000,
    ) -> None:
        self._load = load
        self._ttl_seconds = ttl_seconds
        self._clock = clock
        self._max_entries = max_entries
        self._entries: dict[uuid.UUID, tuple[float, OrgPolicy | None]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def limit_per_min(self, org_id: uuid.UUID, category: str) -> int:
        now = self._clock()
        cached = self._entries.get(org_id)
        if cached is not None and cached[0] > now:
            policy = cached[1]
        else:
            policy = await self._load(org_id)
            if len(self._entries) >= self._max_entries:
                self._evict_expired(now)
            self._entries[org_id] = (now + self._ttl_seconds, policy)
        return policy.rate_limit_per_min(category) if policy is not None else DEFAULT_RATE_LIMIT_PER_MIN

    def _evict_expired(self, now: float) -> None:
        self._entries = {org_id: entry for org_id, entry in self._entries.items() if entry[0] > now}
        if len(self._entries) >= self._max_entries:
            self._entries.clear()


@dataclass(frozen=True)
class RateLimits:
    limiter: RateLimiter
    policies: PolicyCache
    login_per_ip: int
    login_per_email: int


def org_key(org_id: uuid.UUID, category: str) -> tuple[str, ...]:
    return ("org", str(org_id), category)


def ip_key(category: str, ip: str) -> tuple[str, ...]:
    return ("ip", category, ip)


def login_email_key(email: str) -> tuple[str, ...]:
    """The address hashed, so no e-mail address is ever readable in Redis."""
    return ("login-email", hashlib.sha256(email.strip().lower().encode()).hexdigest())


def fails_closed(category: str) -> bool:
    return category in FAIL_CLOSED_CATEGORIES


async def org_decision(limits: RateLimits, org_id: uuid.UUID, category: str) -> tuple[int, RateDecision]:
    """Count one call of `org_id` in `category` (an admin acting for a tenant spends that tenant's quota):
    (the limit, the decision). Raises RateLimiterUnavailable."""
    limit = await limits.policies.limit_per_min(org_id, category)
    return limit, await limits.limiter.hit(org_key(org_id, category), limit, WINDOW_SECONDS)
