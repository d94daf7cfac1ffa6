"""schemathesis hooks of the fuzz run (loaded through SCHEMATHESIS_HOOKS): request timestamps are
generated inside the range the API accepts, so a generator need not filter `format: date-time`
values by the document's year pattern (it gave up on operations with two timestamps)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import schemathesis
from hypothesis import strategies as st

from amss.domain.timestamps import MAX_YEAR, MIN_YEAR

# offsets of up to 14 h either way cannot carry a local time a day inside the range out of it
_OFFSETS = st.sampled_from(
    [UTC, timezone(timedelta(hours=-1)), timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=14))]
)
_IN_RANGE = st.datetimes(
    min_value=datetime(MIN_YEAR, 1, 2), max_value=datetime(MAX_YEAR, 12, 30), timezones=_OFFSETS
).map(lambda moment: moment.isoformat())

schemathesis.openapi.format("date-time", _IN_RANGE)
