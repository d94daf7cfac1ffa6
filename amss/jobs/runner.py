"""Runs the worker's periodic jobs on cron schedules (aiocron), counted and logged, never overlapping.

A run that is still going when its next tick comes is not started twice; a failing run is
logged and counted, and the schedule goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiocron
from prometheus_client import CollectorRegistry, Counter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    schedule: str  # cron expression, UTC
    run: Callable[[], Awaitable[object]]


class JobRunner:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.runs_total = Counter("job_runs_total", "Job runs started, by job", ["job"], registry=registry)
        self.failures_total = Counter("job_failures_total", "Job runs that failed, by job", ["job"], registry=registry)
        self._crons: list[aiocron.Cron] = []
        self._running: dict[str, asyncio.Task[None]] = {}

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
        try:
            result = await job.run()
            log.info("job done", extra={"job": job.name, "result": result if isinstance(result, int | str) else None})
        except Exception:  # a failed run must not stop the schedule
            self.failures_total.labels(job.name).inc()
            log.exception("job failed", extra={"job": job.name})

    def start(self, jobs: list[Job]) -> None:
        for job in jobs:
            self._crons.append(aiocron.crontab(job.schedule, func=self.run_once, args=(job,), start=True, tz=None))

    async def stop(self, grace: float) -> None:
        for cron in self._crons:
            cron.stop()
        running = [task for task in self._running.values() if not task.done()]
        if running:
            _, pending = await asyncio.wait(running, timeout=grace)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
