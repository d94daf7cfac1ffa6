"""The pipeline's schedules: exponential backoff with jitter (growing, capped), Retry-After parsing and clamping,
and what each webhook answer decides."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from amss.domain.retries import Answer, DeliveryStatus, RetryPolicy, backoff_delay, decide, retry_after

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
BASE, CAP = timedelta(seconds=5), timedelta(hours=1)
POLICY = RetryPolicy(BASE, CAP, max_attempts=5)


@pytest.mark.parametrize("random", [0.0, 0.5, 0.999])
def test_backoff_doubles_from_the_base_and_stops_at_the_cap(random: float) -> None:
    delays = [backoff_delay(n, BASE, CAP, lambda: random) for n in range(1, 16)]
    assert delays[0] <= BASE and delays[0] >= BASE * 0.8
    for earlier, later in itertools.pairwise(delays):
        if later < CAP * 0.8:
            assert later > earlier
    assert all(delay <= CAP for delay in delays)
    assert delays[-1] >= CAP * 0.8


def test_backoff_never_exceeds_an_hour_whatever_the_cap() -> None:
    assert backoff_delay(100, timedelta(minutes=30), timedelta(days=3), lambda: 0.0) == timedelta(hours=1)
    with pytest.raises(ValueError, match="counts from 1"):
        backoff_delay(0, BASE, CAP, lambda: 0.0)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", timedelta(seconds=7)),
        (" 7 ", timedelta(seconds=7)),
        ("0", timedelta(seconds=1)),
        ("999999999999999999999", timedelta(hours=1)),
        ("Sun, 06 Dec 2026 12:00:30 GMT", timedelta(seconds=30)),
        ("Sun, 06 Dec 2026 11:00:00 GMT", timedelta(seconds=1)),
        ("Fri, 31 Dec 9999 23:59:59 GMT", timedelta(hours=1)),
        ("-5", None),
        ("soon", None),
        ("", None),
        ("7\x00", None),
        (None, None),
        ("1" * 100, None),
    ],
)
def test_retry_after_takes_seconds_or_an_http_date_clamped(header: str | None, expected: timedelta | None) -> None:
    assert retry_after(header, NOW) == expected


def test_2xx_delivers_and_410_fails_and_deactivates() -> None:
    assert decide(Answer(204), 1, POLICY, NOW, lambda: 0.0).status is DeliveryStatus.DELIVERED
    gone = decide(Answer(410), 1, POLICY, NOW, lambda: 0.0)
    assert (gone.status, gone.deactivate, gone.dead_letter) == (DeliveryStatus.FAILED, True, True)


def test_other_answers_back_off_until_the_limit_then_fail_with_a_dead_letter() -> None:
    first = decide(Answer(500), 1, POLICY, NOW, lambda: 0.0)
    assert (first.status, first.next_attempt_at, first.error) == (DeliveryStatus.PENDING, NOW + BASE, "HTTP 500")
    redirect = decide(Answer(302), 2, POLICY, NOW, lambda: 0.0)
    assert redirect.next_attempt_at == NOW + 2 * BASE and "redirect not followed" in (redirect.error or "")
    timeout = decide(Answer(None, error="timeout after 10s"), 3, POLICY, NOW, lambda: 0.0)
    assert timeout.next_attempt_at == NOW + 4 * BASE and timeout.error == "timeout after 10s"
    last = decide(Answer(500), 5, POLICY, NOW, lambda: 0.0)
    assert (last.status, last.dead_letter) == (DeliveryStatus.FAILED, True)


def test_429_and_503_wait_for_retry_after_and_fall_back_to_backoff() -> None:
    seven = decide(Answer(429, retry_after="7"), 1, POLICY, NOW, lambda: 0.0)
    assert seven.next_attempt_at == NOW + timedelta(seconds=7)
    dated = decide(Answer(503, retry_after="Sun, 06 Dec 2026 12:02:00 GMT"), 1, POLICY, NOW, lambda: 0.0)
    assert dated.next_attempt_at == NOW + timedelta(minutes=2)
    assert decide(Answer(429, retry_after="later"), 1, POLICY, NOW, lambda: 0.0).next_attempt_at == NOW + BASE
    # Retry-After on another status is not a reason to wait that long
    assert decide(Answer(500, retry_after="600"), 1, POLICY, NOW, lambda: 0.0).next_attempt_at == NOW + BASE


def test_a_refused_destination_fails_at_once() -> None:
    answer = Answer(None, error="destination is not public: 10.0.0.1", refused=True)
    refused = decide(answer, 1, POLICY, NOW, lambda: 0.0)
    assert (refused.status, refused.dead_letter, refused.deactivate) == (DeliveryStatus.FAILED, True, False)
