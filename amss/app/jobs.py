"""What the worker's periodic jobs read and record: ports (amss/infra/postgres/job_store.py implements them).

The jobs only find candidates by reading (every change is a command on an actor), purge expired
idempotency keys in batches, and record each job's last successful run, so that a worker that
restarts more often than a job's schedule still runs the job when a tick has passed since.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

from amss.domain.aircraft import Aircraft
from amss.domain.programs import MaintenanceProgram


class MaintenanceCandidates(Protocol):
    async def generation_candidates(
        self, limit: int, org_id: uuid.UUID | None
    ) -> list[tuple[MaintenanceProgram, Aircraft | None]]:
        """Across organizations (or in `org_id`): live programs on live aircraft with no live scheduled or
        in-progress task, each with its aircraft."""
        ...

    async def grounding_candidates(
        self, starting_before: datetime, ending_after: datetime, limit: int, org_id: uuid.UUID | None
    ) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(org_id, aircraft_id) of each operational aircraft with a confirmed scheduled task (an assigned
        mechanic) that starts before `starting_before` and ends after `ending_after`."""
        ...


class ExpiredKeys(Protocol):
    async def purge_expired(self, batch_size: int) -> int:
        """Delete up to `batch_size` expired idempotency keys in one statement; how many went."""
        ...


class JobRuns(Protocol):
    async def last_successes(self) -> dict[str, datetime]:
        """Each job's last successful run (when it started), by job name."""
        ...

    async def record_success(self, job: str, started_at: datetime) -> None:
        """Mark a successful run of `job` that started at `started_at` (the mark never moves back)."""
        ...
