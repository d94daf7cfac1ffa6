"""Each job's last successful run, in Postgres: a worker that restarts more often than a job's schedule
still runs the job once a tick has passed since its last success; a failed run is counted and leaves
the mark where it was. The clock is injected: no test waits for a schedule."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from prometheus_client import CollectorRegistry

from amss.infra.postgres.jobs_repo import PgJobRuns
from amss.jobs.runner import Job, JobRunner
from tests.unit.fakes import FakeClock

SIX_HOURLY = "0 */6 * * *"  # the program generator's schedule
START = datetime(2031, 3, 1, 0, 30, tzinfo=UTC)


class Counting:
    """A job body that counts its runs and fails while `failing` is set."""

    def __init__(self) -> None:
        self.calls = 0
        self.failing = False

    async def __call__(self) -> int:
        self.calls += 1
        if self.failing:
            raise ConnectionError("the job's dependency is down")
        return self.calls


def _job(body: Counting, schedule: str = SIX_HOURLY) -> Job:
    return Job(f"test-job-{uuid.uuid4().hex[:12]}", schedule, body)


def _worker(pool: asyncpg.Pool, clock: FakeClock) -> tuple[JobRunner, CollectorRegistry]:
    """A freshly started worker's runner (a restart: nothing carried over but the database)."""
    registry = CollectorRegistry()
    return JobRunner(registry, PgJobRuns(pool), clock), registry


async def _mark(conn: asyncpg.Connection, job: Job) -> datetime | None:
    mark: datetime | None = await conn.fetchval("SELECT last_success_at FROM job_runs WHERE job = $1", job.name)
    return mark


async def test_a_worker_restarted_within_the_schedule_still_runs_a_six_hourly_job_when_a_tick_passed(
    pg_pool: asyncpg.Pool, conn: asyncpg.Connection
) -> None:
    body = Counting()
    job = _job(body)
    clock = FakeClock(START)
    runner, _ = _worker(pg_pool, clock)
    assert await runner.catch_up([job]) == [job.name], "never succeeded: due at the first start"
    assert await _mark(conn, job) == START

    # the worker restarts every 5 hours, never living to one of the job's ticks (00:00, 06:00, 12:00 ...)
    ran = []
    for restart in range(1, 5):
        clock.now = START + timedelta(hours=5 * restart)
        runner, _ = _worker(pg_pool, clock)
        ran.append((clock.now.hour, await runner.catch_up([job]) == [job.name]))
    # 05:30: no tick since 00:30; 10:30: 06:00 passed; 15:30: 12:00 passed; 20:30: 18:00 passed
    assert ran == [(5, False), (10, True), (15, True), (20, True)]
    assert body.calls == 4
    assert await _mark(conn, job) == START + timedelta(hours=20), "the mark is the start of the last success"


async def test_a_failed_run_is_counted_and_does_not_move_the_mark(
    pg_pool: asyncpg.Pool, conn: asyncpg.Connection
) -> None:
    body = Counting()
    job = _job(body)
    clock = FakeClock(START)
    runner, _ = _worker(pg_pool, clock)
    await runner.catch_up([job])

    body.failing = True
    clock.now = START + timedelta(hours=7)  # 06:00 passed
    runner, registry = _worker(pg_pool, clock)
    assert await runner.catch_up([job]) == [job.name]
    assert registry.get_sample_value("job_failures_total", {"job": job.name}) == 1
    assert registry.get_sample_value("job_runs_total", {"job": job.name}) == 1
    assert await _mark(conn, job) == START, "a failed run leaves the last success where it was"

    # the next start still owes the run; once it succeeds, the mark moves
    body.failing = False
    clock.now = START + timedelta(hours=7, minutes=10)
    runner, registry = _worker(pg_pool, clock)
    assert await runner.catch_up([job]) == [job.name]
    assert registry.get_sample_value("job_failures_total", {"job": job.name}) is None
    assert await _mark(conn, job) == clock.now
    assert body.calls == 3


async def test_a_scheduled_tick_records_its_success_and_the_mark_never_moves_back(
    pg_pool: asyncpg.Pool, conn: asyncpg.Connection
) -> None:
    body = Counting()
    job = _job(body, "*/10 * * * *")
    clock = FakeClock(START)
    runner, _ = _worker(pg_pool, clock)
    await runner.run_once(job)  # what a cron tick calls
    assert await _mark(conn, job) == START
    # a slow run that started earlier and finished later does not move the mark back
    await PgJobRuns(pg_pool).record_success(job.name, START - timedelta(hours=1))
    assert await _mark(conn, job) == START
    clock.now = START + timedelta(minutes=5)  # no tick of */10 since 00:30
    runner, _ = _worker(pg_pool, clock)
    assert await runner.catch_up([job]) == []
    assert body.calls == 1


async def test_start_catches_up_in_the_background_and_stop_ends_it(pg_pool: asyncpg.Pool) -> None:
    due, done = Counting(), Counting()
    due_job, done_job = _job(due), _job(done)
    await PgJobRuns(pg_pool).record_success(done_job.name, START)
    clock = FakeClock(START + timedelta(hours=1))  # no tick of done_job's schedule since its success
    runner, _ = _worker(pg_pool, clock)
    runner.start([due_job, done_job])
    try:
        assert runner.catching_up is not None
        assert await runner.catching_up == [due_job.name]
    finally:
        await runner.stop(grace=5)
    assert (due.calls, done.calls) == (1, 0)


@pytest.mark.parametrize("job_name", ["", "x" * 201])
async def test_a_job_name_the_table_refuses_is_logged_not_raised(
    pg_pool: asyncpg.Pool, job_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Recording the success is bookkeeping: the run did its work, so a refused mark only logs a warning."""
    body = Counting()
    runner, registry = _worker(pg_pool, FakeClock(START))
    await runner.run_once(Job(job_name, SIX_HOURLY, body))
    assert body.calls == 1
    assert registry.get_sample_value("job_failures_total", {"job": job_name}) is None
    assert any(record.getMessage() == "job success not recorded" for record in caplog.records)
