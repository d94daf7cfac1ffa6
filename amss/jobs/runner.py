"""Runs the worker's periodic jobs on cron schedules (aiocron), counted and logged, never overlapping.

A run that is still going when its next tick comes is not started twice; a failing run is
logged and counted (`job_failures_total`), and the schedule goes on. Each successful run is
recorded (the `JobRuns` port: its start time, in Postgres), and at start the runner runs at once
every job that had a schedule tick since its last success, or never succeeded: a worker restarted
more often than a job's schedule still runs the job when it is due. A failed run leaves the mark
where it was, so the next start catches it up too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import aiocron
from cronsim import CronSim
from prometheus_client import CollectorRegistry, Counter

from amss.app.clock import Clock, utc_now
from amss.app.jobs import JobRuns

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    schedule: str  # cron expression, UTC
    run: Callable[[], Awaitable[object]]


def missed_tick(schedule: str, last_success: datetime | None, now: datetime) -> bool:
    """Whether `schedule` had a tick after `last_success` and no later than `now` (always, with no success yet)."""
    if last_success is None:
        return True
    return next(CronSim(schedule, last_success)) <= now


class JobRunner:
    def __init__(self, registry: CollectorRegistry, runs: JobRuns, clock: Clock = utc_now) -> None:
        self.runs_total = Counter("job_runs_total", "Job runs started, by job", ["job"], registry=registry)
        self.failures_total = Counter("job_failures_total", "Job runs that failed, by job", ["job"], registry=registry)
        self._runs = runs
        self._clock = clock
        self._crons: list[aiocron.Cron] = []
        self._running: dict[str, asyncio.Task[None]] = {}
        self._catching_up: asyncio.Task[list[str]] | None = None

    async def run_once(self, job: Job) -> None:
        """Run `job` now unless a run of it is still going."""
        current = self._running.get(job.name)
        if current is not None and not current.done():
            log.info("job still running; tick skipped", extra={"job": job.name})
            return
        task = asyncio.create_task(self._guarded(job))
        self._running[job.name] = task
        await asyncio.shield(task)

    async def _guarded(self, job: Job) -> None:
        self.runs_total.labels(job.name).inc()
        started_at = self._clock()
        try:
            result = await job.run()
        except Exception:  # a failed run must not stop the schedule
            self.failures_total.labels(job.name).inc()
            log.exception("job failed", extra={"job": job.name})
            return
        log.info("job done", extra={"job": job.name, "result": result if isinstance(result, int | str) else None})
        try:
            await self._runs.record_success(job.name, started_at)
        except Exception as exc:  # the run did its work; the next start may only run it once more
            log.warning("job success not recorded", extra={"job": job.name, "error": repr(exc)})

    async def catch_up(self, jobs: list[Job]) -> list[str]:
        """Run now, together, every job with a schedule tick since its last success (or none yet); their names.

        If the last successes cannot be read, nothing is run here: the schedules go on."""
        try:
            last = await self._runs.last_successes()
        except Exception as exc:
            log.warning("last job runs unreadable; no catch-up", extra={"error": repr(exc)})
            return []
        now = self._clock()
        due = [job for job in jobs if missed_tick(job.schedule, last.get(job.name), now)]
        if due:
            log.info("jobs due since their last success", extra={"jobs": [job.name for job in due]})
            await asyncio.gather(*(self.run_once(job) for job in due))
        return [job.name for job in due]

    @property
    def catching_up(self) -> asyncio.Task[list[str]] | None:
        """The catch-up `start` began (its result: the jobs it ran), None before `start`."""
        return self._catching_up

    def start(self, jobs: list[Job]) -> None:
        """The schedules, and (in the background) the catch-up of the jobs due since their last success."""
        for job in jobs:
            self._crons.append(aiocron.crontab(job.schedule, func=self.run_once, args=(job,), start=True, tz=UTC))
        self._catching_up = asyncio.create_task(self.catch_up(jobs), name="jobs-catch-up")

    async def stop(self, grace: float) -> None:
        for cron in self._crons:
            cron.stop()
        running = [task for task in self._running.values() if not task.done()]
        if running:
            _, pending = await asyncio.wait(running, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        if self._catching_up is not None:
            self._catching_up.cancel()
            await asyncio.gather(self._catching_up, return_exceptions=True)
