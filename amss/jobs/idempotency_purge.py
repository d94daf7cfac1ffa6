"""The worker's purge of expired idempotency keys, in batches so no statement runs long.

Run it on a schedule (the worker's job runner): `Job("idempotency-purge", PURGE_SCHEDULE,
partial(purge_expired_keys, keys))`, `keys` the ExpiredKeys port the composition root built. A key
lives 24 h, so running every few minutes keeps the table to about a day of keys.
"""

from __future__ import annotations

from typing import Final

from amss.app.jobs import ExpiredKeys

PURGE_JOB: Final = "idempotency-purge"
PURGE_SCHEDULE: Final = "*/10 * * * *"  # cron, UTC: every 10 minutes
PURGE_BATCH_SIZE: Final = 1000


async def purge_expired_keys(keys: ExpiredKeys, batch_size: int = PURGE_BATCH_SIZE) -> int:
    """Delete every expired key, one batch per statement and connection checkout; the number deleted."""
    total = 0
    while True:
        deleted = await keys.purge_expired(batch_size)
        total += deleted
        if deleted < batch_size:
            return total
