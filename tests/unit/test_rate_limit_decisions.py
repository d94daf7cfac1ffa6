"""The limiter script's raw reply (microseconds) turned into whole-second decisions."""

from __future__ import annotations

import pytest

from amss.infra.redis.rate_limit import RateDecision, decision_from_reply


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        # allowed: reset rounds up to whole seconds, no retry-after
        ([1, 9, 0, 59_999_999], RateDecision(True, 10, 9, 60, 0)),
        ([1, 0, 0, 60_000_000], RateDecision(True, 10, 0, 60, 0)),
        ([1, 3, 0, 1], RateDecision(True, 10, 3, 1, 0)),
        ([1, 3, 0, 0], RateDecision(True, 10, 3, 0, 0)),
        # rejected: retry-after rounds up and is never below one second
        ([0, 0, 30_000_001, 30_000_001], RateDecision(False, 10, 0, 31, 31)),
        ([0, 0, 1, 1], RateDecision(False, 10, 0, 1, 1)),
        ([0, 0, 0, 0], RateDecision(False, 10, 0, 1, 1)),
        ([0, 0, -5, -5], RateDecision(False, 10, 0, 1, 1)),
    ],
)
def test_reply_becomes_whole_second_decision(reply: list[int], expected: RateDecision) -> None:
    assert decision_from_reply(reply, 10) == expected


def test_remaining_is_never_negative() -> None:
    assert decision_from_reply([1, -2, 0, 5_000_000], 3).remaining == 0


def test_rejected_reset_is_never_before_retry_after() -> None:
    decision = decision_from_reply([0, 0, 42_500_000, 10_000_000], 5)
    assert decision.retry_after_seconds == 43
    assert decision.reset_seconds >= decision.retry_after_seconds
