"""Rate limits in front of the handlers: per organization and category, per client IP on the
anonymous auth routes, and per e-mail address on *failed* logins.

Limits are per minute over a sliding window kept in Redis. When Redis cannot be reached, the
auth category fails closed (503: an unthrottled login is a password-guessing oracle) and every
other category fails open (the request proceeds, a warning is logged and counted).
"""

from __future__ import annotations

import logging

from aiohttp import web

from amss.api.rest.context import CLIENT_IP, PRINCIPAL, RATE_LIMIT_HEADERS, REQUEST_ID
from amss.api.rest.errors import ApiError
from amss.api.rest.metrics import HTTP_METRICS
from amss.api.rest.routing import Handler, spec_of
from amss.app.rate_limits import (
    DEFAULT_RATE_LIMIT_PER_MIN,
    WINDOW_SECONDS,
    PolicyCache,
    RateDecision,
    RateLimiterUnavailable,
    RateLimits,
    fails_closed,
    ip_key,
    login_email_key,
    org_key,
)

__all__ = [
    "DEFAULT_RATE_LIMIT_PER_MIN",
    "RATE_LIMITS",
    "PolicyCache",
    "RateLimits",
    "ip_key",
    "login_email_key",
    "org_key",
]

log = logging.getLogger(__name__)

# the limiter and policies REST shares with gRPC (amss.app.rate_limits), set by the composition root
RATE_LIMITS = web.AppKey("rate_limits", RateLimits)


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
    except RateLimiterUnavailable as exc:
        closed = fails_closed(category)
        outcome = "closed" if closed else "open"
        metrics.rate_limit_failures_total.labels(category, outcome).inc()
        log.warning(
            "rate limiter unreachable; failing %s",
            outcome,
            extra={"category": category, "error": repr(exc.__cause__ or exc), "request_id": request.get(REQUEST_ID)},
        )
        if closed:
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
