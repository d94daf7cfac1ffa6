"""One owned partition: read its stream, feed per-actor mailboxes, execute, reply, acknowledge.

The consumer name is the partition (`p7`), not the process, so a new owner first re-reads the
entries its predecessor left pending, then new ones: order within an actor survives a crash.
Each actor's mailbox drains in stream order, one command at a time; different actors run
concurrently up to the worker's slots. At most `max_inflight` entries are unacknowledged at
once, so a slow actor applies back-pressure instead of filling memory. An entry is acknowledged
only after its result is committed; stopping drops entries not yet started (they stay pending
for the next owner) and lets started ones finish within a grace period.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from amss.actors.bus import command_of_entry
from amss.actors.executor import CommandExecutor, CommandRef
from amss.actors.failures import dead_letter_fields, failure_reason, is_transient
from amss.actors.metrics import MeshMetrics
from amss.actors.replies import reply_commands
from amss.app.commands.envelope import Command
from amss.app.commands.outcomes import Outcome
from amss.app.commands.transport import MeshKeys, RoundTrips, StreamCommand

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Entry:
    entry_id: bytes
    command_id: uuid.UUID
    actor: str
    type: str
    request_id: str | None = None
    # read back from the pending list (a previous owner or attempt may have started it)
    recovered: bool = False
    # the whole command, from which its execution claims the row; None: an entry that carries only the id
    command: Command | None = None

    @property
    def ref(self) -> CommandRef:
        return self.command if self.command is not None else self.command_id


def backoff_seconds(attempt: int) -> float:
    return float(min(2.0, 0.05 * 2 ** (attempt - 1)))


def entry_age_seconds(entry_id: bytes, now_ms: float) -> float:
    """Seconds since the entry was added (its id starts with Redis' millisecond clock)."""
    return max(0.0, (now_ms - int(entry_id.split(b"-")[0])) / 1000)


class PartitionConsumer:
    def __init__(
        self,
        partition: int,
        epoch: int,
        *,
        client: Redis,
        batcher: RoundTrips,
        keys: MeshKeys,
        executor: CommandExecutor,
        slots: asyncio.Semaphore,
        metrics: MeshMetrics,
        max_inflight: int,
        max_deliveries: int,
        block_ms: int = 1000,
    ) -> None:
        self.partition = partition
        self.epoch = epoch
        self._client = client
        self._batcher = batcher
        self._stream = keys.command_stream(partition)
        self._group = keys.command_group
        self._dead_letters = keys.dead_letter_stream
        self._consumer = f"p{partition}"
        self._executor = executor
        self._slots = slots
        self._metrics = metrics
        self._max_inflight = max_inflight
        self._max_deliveries = max_deliveries
        self._block_ms = block_ms
        self._mailboxes: dict[str, deque[Entry]] = {}
        self._actors: dict[str, asyncio.Task[None]] = {}
        self._inflight = 0
        self._room = asyncio.Event()
        self._room.set()
        self._stopping = False
        self._reader: asyncio.Task[None] | None = None

    @property
    def inflight(self) -> int:
        return self._inflight

    def start(self) -> None:
        self._reader = asyncio.create_task(self._read(), name=f"partition-{self.partition}")

    async def stop(self, grace: float) -> None:
        """Stop reading, drop what has not started, let what runs finish within `grace`, then cancel it."""
        self._stopping = True
        self._room.set()
        if self._reader is not None:
            # let a blocked XREADGROUP return by itself (redis-py can swallow a cancellation that lands
            # mid-read); entries it returns now are not dispatched and stay pending for the next owner
            done, _ = await asyncio.wait([self._reader], timeout=self._block_ms / 1000 + 1)
            if not done:
                self._reader.cancel()
                await asyncio.gather(self._reader, return_exceptions=True)
        running = list(self._actors.values())
        if running:
            _, late = await asyncio.wait(running, timeout=max(grace, 0.0))
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    # --- reading -------------------------------------------------------------------------------

    async def _read(self) -> None:
        await self._ensure_group()
        recovering = True
        last_pending: bytes | str = "0"
        while not self._stopping:
            await self._wait_for_room()
            count = self._max_inflight - self._inflight
            try:
                if recovering:
                    batch = await self._read_batch(last_pending, count, block=None)
                    if not batch:
                        recovering = False
                        continue
                    for entry_id, fields in batch:
                        last_pending = entry_id
                        await self._dispatch(entry_id, fields, recovered=True)
                else:
                    for entry_id, fields in await self._read_batch(">", count, block=self._block_ms):
                        await self._dispatch(entry_id, fields)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("partition read failed; retrying", extra={"partition": self.partition, "error": repr(exc)})
                await asyncio.sleep(0.5)

    async def _ensure_group(self) -> None:
        while True:
            try:
                await self._client.xgroup_create(self._stream, self._group, id="0", mkstream=True)
                return
            except ResponseError as exc:
                if "BUSYGROUP" in str(exc):
                    return
                raise
            except (RedisError, OSError) as exc:
                log.warning("cannot create consumer group; retrying", extra={"error": repr(exc)})
                await asyncio.sleep(0.5)

    async def _read_batch(self, last_id: bytes | str, count: int, block: int | None) -> list[tuple[bytes, Any]]:
        response: Any = await self._client.xreadgroup(
            self._group, self._consumer, {self._stream: last_id}, count=count, block=block
        )
        if not response:
            return []
        return list(response[0][1])

    async def _wait_for_room(self) -> None:
        while self._inflight >= self._max_inflight and not self._stopping:
            self._room.clear()
            await self._room.wait()

    async def _dispatch(self, entry_id: bytes, fields: Any, *, recovered: bool = False) -> None:
        if self._stopping:
            return
        try:
            entry = Entry(
                entry_id,
                uuid.UUID(fields[b"id"].decode()),
                fields[b"actor"].decode(),
                fields[b"type"].decode(),
                fields[b"rid"].decode() if b"rid" in fields else None,
                recovered,
                command_of_entry(fields),
            )
        except (KeyError, TypeError, ValueError, AttributeError, orjson.JSONDecodeError):
            # an entry deleted while pending, or one this code cannot read: nothing to run
            log.warning("unreadable command entry acknowledged", extra={"partition": self.partition})
            await self._acknowledge(entry_id)
            return
        self._inflight += 1
        self._metrics.mailbox_depth.inc()
        self._mailboxes.setdefault(entry.actor, deque()).append(entry)
        if entry.actor not in self._actors:
            self._actors[entry.actor] = asyncio.create_task(self._drain(entry.actor), name=f"actor:{entry.actor}")

    # --- running -------------------------------------------------------------------------------

    async def _drain(self, actor: str) -> None:
        mailbox = self._mailboxes[actor]
        try:
            while mailbox and not self._stopping:
                entry = mailbox.popleft()
                self._metrics.mailbox_depth.dec()
                try:
                    async with self._slots:
                        if not self._stopping:
                            await self._process(entry)
                finally:
                    self._finished_one()
        finally:
            # entries never started stay pending in the stream for whoever owns the partition next
            for _ in range(len(mailbox)):
                self._metrics.mailbox_depth.dec()
                self._finished_one()
            mailbox.clear()
            self._mailboxes.pop(actor, None)
            self._actors.pop(actor, None)

    def _finished_one(self) -> None:
        self._inflight -= 1
        if self._inflight < self._max_inflight:
            self._room.set()

    async def _process(self, entry: Entry) -> None:
        context = {
            "command_id": str(entry.command_id),
            "actor": entry.actor,
            "partition": self.partition,
            "request_id": entry.request_id,
        }
        self._metrics.queue_wait_seconds.observe(entry_age_seconds(entry.entry_id, time.time() * 1000))
        failures = 0
        last_error = "no attempt of this delivery failed; earlier ones died with their worker"
        # set once an execution failed in a way no retry changes: (executions, error); only recording is left
        defect: tuple[int, Exception] | None = None
        started = time.perf_counter()
        while True:
            attempt: int | None = None
            try:
                if defect is not None:
                    outcome = await self._dead_letter(entry, defect[0], failure_reason(defect[1]), defect[1])
                    break
                # counted in Postgres before running (writing the accepted row if there is none yet), so an
                # attempt that kills its worker still counts, while an entry handed off before it started does
                # not. A fresh entry's first try is not counted (no write before it runs): if it kills the
                # worker, the entry comes back as recovered and is counted from then on
                if entry.recovered or failures:
                    attempt = await self._executor.begin_attempt(entry.ref)
                if attempt is not None and attempt > self._max_deliveries:
                    outcome = await self._dead_letter(entry, attempt - 1, last_error)
                else:
                    outcome = await self._executor.execute(entry.ref)
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if defect is None and not is_transient(exc):
                    # the same every time: not retried, but recorded failed and dead-lettered (that is retried)
                    defect = (attempt if attempt is not None else failures + 1, exc)
                    continue
                # infrastructure: retried in order, then dead-lettered
                failures += 1
                last_error = failure_reason(exc)
                log.warning("command attempt failed", extra={**context, "attempt": attempt, "error": last_error})
                if self._stopping:
                    return
                await asyncio.sleep(backoff_seconds(failures))
        self._metrics.execution_seconds.labels(entry.type).observe(time.perf_counter() - started)
        if outcome is None:
            log.warning("stream entry names no command; acknowledged", extra=context)
        else:
            command, result = outcome
            self._metrics.commands_total.labels(entry.type, _outcome(result)).inc()
            if command.reply_to:
                await self._reply_and_acknowledge(command.reply_to, command.id, result, entry.entry_id)
                return
        await self._acknowledge(entry.entry_id)

    async def _dead_letter(self, entry: Entry, deliveries: int, reason: str, defect: Exception | None = None) -> Any:
        """Record the command failed, copy it to the dead letters, log it (with the defect's traceback, if one)."""
        outcome = await self._executor.fail(entry.ref, deliveries, reason, transient=defect is None)
        fields = dead_letter_fields(str(entry.command_id), entry.actor, entry.type, self.partition, deliveries, reason)
        await self._client.xadd(self._dead_letters, fields)  # type: ignore[arg-type]
        self._metrics.commands_dead_lettered_total.inc()
        log.error(
            "command dead-lettered" if defect is None else "command failed, not retried; dead-lettered",
            exc_info=defect,
            extra={
                "command_id": str(entry.command_id),
                "actor": entry.actor,
                "request_id": entry.request_id,
                "partition": self.partition,
                "deliveries": deliveries,
            },
        )
        return outcome

    async def _reply_and_acknowledge(
        self, stream: str, command_id: uuid.UUID, result: Outcome, entry_id: bytes
    ) -> None:
        """Reply and acknowledge in one round trip, shared with other commands finishing now (after the
        commit: a lost ack only means a re-send)."""
        try:
            await self._batcher.group([*reply_commands(stream, command_id, result), *self._acknowledgement(entry_id)])
        except (RedisError, OSError) as exc:
            log.warning(
                "reply or acknowledge failed; the entry will be answered again from the stored result",
                extra={"command_id": str(command_id), "error": repr(exc)},
            )

    def _acknowledgement(self, entry_id: bytes) -> list[StreamCommand]:
        return [("XACK", self._stream, self._group, entry_id), ("XDEL", self._stream, entry_id)]

    async def _acknowledge(self, entry_id: bytes) -> None:
        try:
            await self._batcher.group(self._acknowledgement(entry_id))
        except (RedisError, OSError) as exc:
            # still pending: it will be delivered again and answered from the stored result
            log.warning("acknowledge failed", extra={"partition": self.partition, "error": repr(exc)})


def _outcome(result: Outcome) -> str:
    return "succeeded" if result.succeeded else "failed"
