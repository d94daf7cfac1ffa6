"""The worker's import loop: read `import.jobs`, run each job, take over dead workers' jobs, redrive lost ones.

Up to `concurrency` imports run at once in a worker. An entry is acknowledged once its job is
finished, failed, given up, or not this worker's to run (finished already, or another worker
holds its lease); a job that raised stays unacknowledged, so that after the lease another
worker (or this one) reclaims it (XAUTOCLAIM), counting an attempt. Every `lease / 2` the loop
also re-enqueues unfinished imports nobody holds and nobody re-enqueued for `redrive_after`
(Redis lost their entry, or the upload's XADD failed), as the command redriver does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta

from amss.app.imports.ports import ImportJobReader, ImportJobStore, ImportQueue, QueuedImport
from amss.app.imports.processor import LOST_LEASE, ImportProcessor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportLoopConfig:
    lease: timedelta
    redrive_after: timedelta
    concurrency: int = 2
    block_ms: int = 1000


class ImportWorker:
    def __init__(
        self,
        config: ImportLoopConfig,
        processor: ImportProcessor,
        reader: ImportJobReader,
        store: ImportJobStore,
        queue: ImportQueue,
    ) -> None:
        self._config = config
        self._processor = processor
        self._reader = reader
        self._store = store
        self._queue = queue
        self._slots = asyncio.Semaphore(config.concurrency)
        self._running: dict[str, asyncio.Task[None]] = {}
        # the imports running here: another entry for one of them (a redriven duplicate) is acknowledged, not run
        self._importing: set[uuid.UUID] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._stopping = False

    def start(self) -> None:
        self._loops = [
            asyncio.create_task(self._read_loop(), name="import-reader"),
            asyncio.create_task(self._recover_loop(), name="import-recovery"),
        ]

    async def stop(self) -> None:
        """Stop reading, then cancel running jobs: each releases its import (not counted as an attempt)."""
        self._stopping = True
        for task in self._loops:
            task.cancel()
        running = list(self._running.values())
        for task in running:
            task.cancel()
        await asyncio.gather(*self._loops, *running, return_exceptions=True)

    async def _read_loop(self) -> None:
        while not self._stopping:
            await self._slots.acquire()
            self._slots.release()
            try:
                jobs = await self._reader.read(self._config.block_ms)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: try again shortly
                log.warning("import jobs not read", extra={"error": repr(exc)})
                await asyncio.sleep(1.0)
                continue
            for job in jobs:
                await self._spawn(job)

    async def _recover_loop(self) -> None:
        interval = max(0.2, self._config.lease.total_seconds() / 2)
        while not self._stopping:
            await asyncio.sleep(interval)
            try:
                await self.recover()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # recovery must outlive a failing round
                log.warning("import recovery round failed", extra={"error": repr(exc)})

    async def recover(self) -> None:
        """Take over jobs whose consumer went quiet for a lease; re-enqueue imports nobody has."""
        lease_ms = int(self._config.lease.total_seconds() * 1000)
        for job in await self._reader.reclaim(lease_ms):
            await self._spawn(job)
        lost = await self._store.unfinished(self._config.redrive_after, 100)
        for org_id, import_id in lost:
            await self._queue.enqueue(org_id, import_id)
        if lost:
            log.info("imports redriven", extra={"count": len(lost)})

    async def _spawn(self, job: QueuedImport) -> None:
        if job.entry_id in self._running:
            return
        if job.import_id in self._importing:  # this worker runs it already, under another entry
            with contextlib.suppress(Exception):
                await self._reader.ack(job.entry_id)
            return
        self._importing.add(job.import_id)  # before waiting for a slot: the other loop sees it at once
        try:
            await self._slots.acquire()
        except BaseException:
            self._importing.discard(job.import_id)
            raise
        task = asyncio.create_task(self._handle(job), name=f"import-{job.import_id}")
        self._running[job.entry_id] = task
        task.add_done_callback(lambda _: self._done(job))

    def _done(self, job: QueuedImport) -> None:
        self._running.pop(job.entry_id, None)
        self._importing.discard(job.import_id)
        self._slots.release()

    async def _handle(self, job: QueuedImport) -> None:
        try:
            result = await self._processor.run(job)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("import job failed; left for another attempt", extra={"import_id": str(job.import_id)})
            return
        log.info("import job done", extra={"import_id": str(job.import_id), "result": result})
        if result != LOST_LEASE:
            with contextlib.suppress(Exception):
                await self._reader.ack(job.entry_id)
