"""Whether a job is due at start: a tick of its schedule (UTC cron) between its last success and now."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from amss.jobs.runner import missed_tick


@pytest.mark.parametrize(
    ("schedule", "last", "now", "due"),
    [
        ("0 */6 * * *", None, datetime(2031, 3, 1, 0, 1, tzinfo=UTC), True),
        ("0 */6 * * *", datetime(2031, 3, 1, 0, 30, tzinfo=UTC), datetime(2031, 3, 1, 5, 59, tzinfo=UTC), False),
        ("0 */6 * * *", datetime(2031, 3, 1, 0, 30, tzinfo=UTC), datetime(2031, 3, 1, 6, 0, tzinfo=UTC), True),
        ("0 */6 * * *", datetime(2031, 3, 1, 6, 0, tzinfo=UTC), datetime(2031, 3, 1, 6, 0, tzinfo=UTC), False),
        ("*/10 * * * *", datetime(2031, 3, 1, 0, 30, tzinfo=UTC), datetime(2031, 3, 1, 0, 39, tzinfo=UTC), False),
        ("*/10 * * * *", datetime(2031, 3, 1, 0, 30, tzinfo=UTC), datetime(2031, 3, 1, 0, 40, tzinfo=UTC), True),
        # a last success in the future (a skewed clock) is not due yet
        ("*/5 * * * *", datetime(2031, 3, 2, tzinfo=UTC), datetime(2031, 3, 1, tzinfo=UTC), False),
    ],
)
def test_a_job_is_due_when_a_tick_passed_since_its_last_success(
    schedule: str, last: datetime | None, now: datetime, due: bool
) -> None:
    assert missed_tick(schedule, last, now) is due
