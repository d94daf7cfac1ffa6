"""Rate limits in front of the handlers: per organization and category, per client IP on the
anonymous auth routes, and per e-mail address on *failed* logins.

Limits are per minute over a sliding window kept in Redis. When Redis cannot be reached, the
auth category fails closed (503: an unthrottled login is a password-guessing oracle) and every
other category fails open (the request proceeds, a warning is logged and counted).
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

import asyncpg
import redis.exceptions
from aiohttp import web

from amss.api.rest.context import CLIENT_IP, PRINCIPAL, RATE_LIMIT_HEADERS, REQUEST_ID
from amss.api.rest.errors import ApiError
from amss.api.rest.metrics import HTTP_METRICS
from amss.api.rest.routing import Handler, spec_of
from amss.domain.organizations import OrgPolicy
from amss.infra.postgres.organizations_repo import PgOrganizationRepository
from amss.infra.redis.rate_limit import RateDecision, SlidingWindowLimiter

log = logging.getLogger(__name__)

WINDOW_SECONDS: Final = 60
# org_policies.api_rate_limit_per_min's column default, for an organization without a policy row
DEFAULT_RATE_LIMIT_PER_MIN: Final = 100
FAIL_CLOSED_CATEGORIES: Final = frozenset({"auth"})
REDIS_UNREACHABLE: Final = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)

PolicyLoader = Callable[[uuid.UUID], Awaitable[OrgPolicy | None]]
Clock = Callable[[], float]


class PolicyCache:
    """Each organization's policy, loaded at most once per `ttl_seconds`: a policy change applies within that."""

    def __init__(
        self, load: PolicyLoader, ttl_seconds: float = 10.0, clock: Clock = time.monotonic, max_entries: int = 10_000
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


def postgres_policy_loader(pool: asyncpg.Pool) -> PolicyLoader:
    async def load(org_id: uuid.UUID) -> OrgPolicy | None:
        async with pool.acquire() as conn:
            return await PgOrganizationRepository(conn).get_policy(org_id)

    return load


@dataclass(frozen=True)
class RateLimits:
    limiter: SlidingWindowLimiter
    policies: PolicyCache
    login_per_ip: int
    login_per_email: int


RATE_LIMITS = web.AppKey("rate_limits", RateLimits)


def org_key(org_id: uuid.UUID, category: str) -> tuple[str, ...]:
    return ("org", str(org_id), category)


def ip_key(category: str, ip: str) -> tuple[str, ...]:
    return ("ip", category, ip)


def login_email_key(email: str) -> tuple[str, ...]:
    """The address hashed, so no e-mail address is ever readable in Redis."""
    return ("login-email", hashlib.sha256(email.strip().lower().encode()).hexdigest())


def rate_limit_headers(decision: RateDecision) -> dict[str, str]:
    return {
        "RateLimit-Limit": str(decision.limit),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(decision.reset_seconds),
    }


def _publish(request: web.Request, decision: RateDecision) -> None:
    """Headers of the tightest limit this request met (the per-IP and per-e-mail limits both apply to a login)."""
    earlier = request.get(RATE_LIMIT_HEADERS)
    if earlier is not None and decision.allowed and int(earlier["RateLimit-Remaining"]) <= decision.remaining:
        return
    request[RATE_LIMIT_HEADERS] = rate_limit_headers(decision)


async def _enforce(request: web.Request, category: str, key_parts: tuple[str, ...], limit: int, refusal: str) -> None:
    """Count this request against the limit: raise 429 over it, or 503 for an unreachable Redis that fails closed."""
    metrics = request.app[HTTP_METRICS]
    try:
        decision = await request.app[RATE_LIMITS].limiter.hit(key_parts, limit, WINDOW_SECONDS)
    except REDIS_UNREACHABLE as exc:
        fails_closed = category in FAIL_CLOSED_CATEGORIES
        outcome = "closed" if fails_closed else "open"
        metrics.rate_limit_failures_total.labels(category, outcome).inc()
        log.warning(
            "rate limiter unreachable; failing %s",
            outcome,
            extra={"category": category, "error": repr(exc), "request_id": request.get(REQUEST_ID)},
        )
        if fails_closed:
            raise ApiError("UNAVAILABLE", "authentication is briefly unavailable; try again shortly") from exc
        return
    _publish(request, decision)
    if not decision.allowed:
        metrics.rate_limit_rejections_total.labels(category).inc()
        seconds = decision.retry_after_seconds
        raise ApiError(
            "RATE_LIMITED",
            f"{refusal}; retry in {seconds} s",
            {"category": category, "retry_after_seconds": seconds},
            {"Retry-After": str(seconds)},
        )


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    spec = spec_of(request)
    if spec is None or spec.category is None:
        return await handler(request)
    category = spec.category
    if PRINCIPAL in request:
        # the effective organization: an admin acting through X-Org-ID spends that organization's quota
        org_id = request[PRINCIPAL].org_id
        limit = await request.app[RATE_LIMITS].policies.limit_per_min(org_id, category)
        key_parts = org_key(org_id, category)
    else:
        limit = request.app[RATE_LIMITS].login_per_ip
        key_parts = ip_key(category, request[CLIENT_IP])
    await _enforce(request, category, key_parts, limit, f"rate limit of {limit} {category} requests per minute reached")
    return await handler(request)


async def record_login_failure(request: web.Request, email: str) -> None:
    """Count one failed login for `email` (LOGIN_RATE_LIMIT_PER_EMAIL a minute, whatever the client's address):
    past the limit raise 429 in place of the caller's 401.

    Only failures are counted and only after the password was checked, so nobody's failures can keep the
    right password out (no lock-out); a wrong password still gets no more than this many 401s a minute.
    Unknown e-mails are counted alike, so the 429 does not tell which accounts exist.
    """
    limit = request.app[RATE_LIMITS].login_per_email
    await _enforce(request, "auth", login_email_key(email), limit, "too many failed logins for this account")
