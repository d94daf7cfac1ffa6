"""Retry schedules of the event pipeline: exponential backoff with jitter, Retry-After, and what a webhook answer means.

Pure functions over values the caller passes in (the time, a random number in [0, 1)), so the
publisher's and the dispatcher's schedules are tested without waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Final

from amss.domain.enums import WebhookDeliveryStatus as DeliveryStatus

__all__ = ["Answer", "Decision", "DeliveryStatus", "RetryPolicy", "backoff_delay", "decide", "retry_after"]

# the largest delay anywhere in the pipeline, and the Retry-After clamp
MAX_DELAY: Final = timedelta(hours=1)
MIN_RETRY_AFTER: Final = timedelta(seconds=1)
# a delay is drawn from [(1 - JITTER) * d, d]: below 1/2, so the n-th delay is always longer than the one before
JITTER: Final = 0.2
_MAX_EXPONENT: Final = 40

Random = Callable[[], float]


def backoff_delay(failures: int, base: timedelta, cap: timedelta, random: Random) -> timedelta:
    """The wait after the `failures`-th failure in a row (1 = the first): base, 2 base, 4 base ... capped at
    `cap` (and at one hour), less up to JITTER of it at random."""
    if failures < 1:
        raise ValueError("failures counts from 1")
    ceiling = min(cap, MAX_DELAY)
    exponent = min(failures - 1, _MAX_EXPONENT)
    seconds = min(ceiling.total_seconds(), base.total_seconds() * 2.0**exponent)
    fraction = min(max(random(), 0.0), 1.0)
    return timedelta(seconds=seconds * (1.0 - JITTER * fraction))


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A Retry-After header (delay-seconds or an HTTP date) as a delay clamped to 1 s .. 1 h; None if unusable."""
    if value is None:
        return None
    text = value.strip()
    if not text or len(text) > 64:
        return None
    delay: timedelta
    if text.isascii() and text.isdigit():
        delay = timedelta(seconds=min(int(text), int(MAX_DELAY.total_seconds())))
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        delay = when - now
    return min(max(delay, MIN_RETRY_AFTER), MAX_DELAY)


@dataclass(frozen=True)
class Answer:
    """What one delivery attempt got: an HTTP status (None when no answer came) and what else it said."""

    status: int | None
    retry_after: str | None = None
    error: str | None = None  # why there was no answer (timeout, connection refused, ...)
    refused: bool = False  # the destination is not public (production): nothing was sent


@dataclass(frozen=True)
class Decision:
    status: DeliveryStatus
    next_attempt_at: datetime
    error: str | None
    dead_letter: bool = False
    deactivate: bool = False


@dataclass(frozen=True)
class RetryPolicy:
    base: timedelta
    cap: timedelta
    max_attempts: int


def decide(answer: Answer, attempt: int, policy: RetryPolicy, now: datetime, random: Random) -> Decision:
    """What becomes of a delivery after its `attempt`-th attempt (1 = the first) got `answer`."""
    code = answer.status
    if code is not None and 200 <= code < 300:
        return Decision(DeliveryStatus.DELIVERED, now, None)
    if code == 410:
        return Decision(
            DeliveryStatus.FAILED, now, "HTTP 410 Gone: webhook deactivated", dead_letter=True, deactivate=True
        )
    if answer.refused:
        return Decision(DeliveryStatus.FAILED, now, answer.error or "destination is not public", dead_letter=True)
    error = _describe(answer)
    if attempt >= policy.max_attempts:
        return Decision(
            DeliveryStatus.FAILED, now, f"{error} (attempt {attempt} of {policy.max_attempts})", dead_letter=True
        )
    delay: timedelta | None = None
    if code in (429, 503):
        delay = retry_after(answer.retry_after, now)
    if delay is None:
        delay = backoff_delay(attempt, policy.base, policy.cap, random)
    return Decision(DeliveryStatus.PENDING, now + delay, error)


def _describe(answer: Answer) -> str:
    code = answer.status
    if code is None:
        return answer.error or "no answer"
    if 300 <= code < 400:
        return f"HTTP {code}: redirect not followed"
    return f"HTTP {code}"
