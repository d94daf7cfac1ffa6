"""One import job from claim to `completed` (or `failed`), resumable from what its rows say.

A worker claims the job (a lease it renews while it works; each claim is an attempt), then:
`pending`/`validating` -> stage every row not staged yet -> `applying` -> apply every row still
`valid` -> `completed` with the summary counts. A worker that dies leaves the lease to expire;
the next one to claim continues from the rows: staged rows are not staged again, settled rows
not applied again. A file that cannot be read fails the import with the reason. A job claimed
more than `max_attempts` times (its workers keep dying on it) fails and is dead-lettered once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from amss.app.commands.envelope import recorded_actor
from amss.app.imports.applying import ApplyDeps, RowApplier
from amss.app.imports.ports import Claimed, GaveUp, ImportJobReader, ImportRecord, QueuedImport
from amss.app.imports.validation import FileUnreadable, validate
from amss.domain.enums import ImportStatus

log = logging.getLogger(__name__)

LOST_LEASE: Final = "lease lost"


@dataclass(frozen=True)
class ImportJobConfig:
    worker_id: str
    lease: timedelta = timedelta(seconds=30)
    max_attempts: int = 3
    batch_rows: int = 1000


class ImportProcessor:
    def __init__(self, config: ImportJobConfig, deps: ApplyDeps, dead_letters: ImportJobReader) -> None:
        self._config = config
        self._deps = deps
        self._store = deps.store
        self._dead_letters = dead_letters

    async def run(self, job: QueuedImport) -> str:
        """Work on the job while holding its lease; what became of it, for the log."""
        config, store = self._config, self._store
        claim = await store.claim(job.org_id, job.import_id, config.worker_id, config.lease, config.max_attempts)
        if claim is None:
            return "not claimed"
        if isinstance(claim, GaveUp):
            reason = claim.record.error or "gave up"
            await self._dead_letters.dead_letter(job.org_id, job.import_id, reason)
            log.error("import gave up; dead-lettered", extra={"import_id": str(job.import_id), "error": reason})
            return "dead-lettered"
        return await self._hold(claim)

    async def _hold(self, claim: Claimed) -> str:
        """Run the work, renewing the lease meanwhile; a lost lease stops it, a cancellation releases it."""
        record, config = claim.record, self._config
        work = asyncio.create_task(self._work(record))
        released = False
        try:
            while True:
                done, _ = await asyncio.wait({work}, timeout=config.lease.total_seconds() / 4)
                if work in done:
                    break
                if not await self._store.renew(record.org_id, record.id, config.worker_id, config.lease):
                    work.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await work
                    log.warning("import lease lost; stopped", extra={"import_id": str(record.id)})
                    return LOST_LEASE
            result = work.result()
        except asyncio.CancelledError:  # the worker stops: the job goes back, this attempt not counted
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await work
            await asyncio.shield(self._store.release(record.org_id, record.id, config.worker_id, refund=True))
            released = True
            raise
        except Exception:
            await self._store.release(record.org_id, record.id, config.worker_id, refund=False)
            released = True
            raise
        finally:
            if not released and not work.done():
                work.cancel()
        return result

    async def _work(self, record: ImportRecord) -> str:
        store, worker = self._store, self._config.worker_id
        org_id, import_id = record.org_id, record.id
        try:
            if record.status in (ImportStatus.PENDING, ImportStatus.VALIDATING):
                await store.set_status(org_id, import_id, worker, ImportStatus.VALIDATING)
                await validate(store, record, self._deps.clock, self._config.batch_rows)
                await store.set_status(org_id, import_id, worker, ImportStatus.APPLYING)
            await self._apply(record)
        except FileUnreadable as exc:
            counts = await store.counts(org_id, import_id)
            await store.set_status(org_id, import_id, worker, ImportStatus.FAILED, counts, str(exc))
            return "failed"
        counts = await store.counts(org_id, import_id)
        await store.set_status(org_id, import_id, worker, ImportStatus.COMPLETED, counts)
        return "completed"

    async def _apply(self, record: ImportRecord) -> None:
        actor = recorded_actor(record.org_id, record.principal, record.request_id)
        applier = RowApplier(self._deps, record, actor)
        after = 0
        while True:
            rows = await self._store.valid_rows(record.org_id, record.id, after, self._config.batch_rows)
            if not rows:
                return
            verdicts = await applier.apply_batch(rows)
            await self._store.settle(record.org_id, record.id, verdicts)
            after = rows[-1][0]
