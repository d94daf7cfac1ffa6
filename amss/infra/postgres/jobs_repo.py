"""The worker's jobs' ports (amss/app/jobs.py) over Postgres: candidate reads, the key purge, last successful runs.

Each call borrows a connection of its own from the pool: the jobs read outside any transaction
(the actors decide again under their own) and purge in short batches.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from amss.domain.aircraft import Aircraft
from amss.domain.programs import MaintenanceProgram
from amss.infra.postgres.aircraft_repo import PgAircraftRepository
from amss.infra.postgres.idempotency_repo import PgIdempotencyRepository
from amss.infra.postgres.programs_repo import PgProgramRepository


class PgMaintenanceCandidates:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def generation_candidates(
        self, limit: int, org_id: uuid.UUID | None
    ) -> list[tuple[MaintenanceProgram, Aircraft | None]]:
        async with self._pool.acquire() as conn:
            programs = await PgProgramRepository(conn).generation_candidates(limit, org_id)
            aircraft = PgAircraftRepository(conn)
            found: list[tuple[MaintenanceProgram, Aircraft | None]] = []
            for program in programs:
                assert program.aircraft_id is not None  # the candidates are programs on an aircraft
                found.append((program, await aircraft.get(program.org_id, program.aircraft_id)))
        return found

    async def grounding_candidates(
        self, starting_before: datetime, ending_after: datetime, limit: int, org_id: uuid.UUID | None
    ) -> list[tuple[uuid.UUID, uuid.UUID]]:
        async with self._pool.acquire() as conn:
            return await PgAircraftRepository(conn).grounding_candidates(starting_before, ending_after, limit, org_id)


class PgExpiredKeys:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def purge_expired(self, batch_size: int) -> int:
        async with self._pool.acquire() as conn:
            return await PgIdempotencyRepository(conn).purge_expired(batch_size)


class PgJobRuns:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def last_successes(self) -> dict[str, datetime]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch("SELECT job, last_success_at FROM job_runs")
        return {row["job"]: row["last_success_at"] for row in rows}

    async def record_success(self, job: str, started_at: datetime) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO job_runs (job, last_success_at) VALUES ($1, $2)"
                " ON CONFLICT (job) DO UPDATE SET last_success_at = GREATEST(job_runs.last_success_at,"
                " excluded.last_success_at), updated_at = now()",
                job,
                started_at,
            )
