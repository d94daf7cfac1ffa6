"""Submitting commands: record in Postgres, enqueue on the actor's partition stream, await the reply.

The command row is written first, so a command is never lost: if the XADD fails or Redis later
loses the entry, the redriver enqueues it again. With the mesh off (`AMSS_MESH=off`) the same
executor runs the command in this process instead, and the row is written once, with the result,
in the command's own transaction; an accepted row is written first only when the caller is to get
a 202 (no wait, or the wait ran out), so that its Location resolves and, should this process die,
the worker's redriver finishes it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import RedisError

from amss.actors.acceptance import CommandAcceptor
from amss.actors.executor import CommandExecutor
from amss.actors.failures import dead_letter_fields, failure_reason, is_transient
from amss.actors.partitioning import partition_of
from amss.actors.replies import ReplyListener
from amss.app.commands.base import CommandModel
from amss.app.commands.bus import Submission
from amss.app.commands.envelope import Command, record_actor
from amss.app.commands.outcomes import Outcome
from amss.domain.principal import Actor
from amss.infra.postgres.commands_repo import insert_command_if_absent
from amss.infra.redis.batching import PipelineBatcher, RedisCommand
from amss.infra.redis.keys import KeySpace

log = logging.getLogger(__name__)


def stream_entry(command: Command) -> dict[str, str]:
    entry = {"id": str(command.id), "actor": command.actor, "type": command.type}
    if command.request_id is not None:
        entry["rid"] = str(command.request_id)
    return entry


class CommandBus:
    def __init__(
        self,
        pool: asyncpg.Pool,
        client: Redis,
        keys: KeySpace,
        partitions: int,
        replies: ReplyListener | None,
        local_executor: CommandExecutor | None = None,
        batcher: PipelineBatcher | None = None,
    ) -> None:
        if replies is None and local_executor is None:
            raise ValueError("a bus needs a reply listener (mesh on) or a local executor (mesh off)")
        self._pool = pool
        self._redis = client
        self._keys = keys
        self._partitions = partitions
        self._replies = replies
        self._local = local_executor
        # XADDs of requests submitting at the same moment share a round trip
        self._batcher = batcher or PipelineBatcher(client)
        # accepted rows of requests submitting at the same moment share a statement and a commit
        self._acceptor = CommandAcceptor(pool)
        self._background: set[asyncio.Task[Any]] = set()

    async def send(self, org_id: uuid.UUID, command: CommandModel, acting: Actor, wait: float) -> Submission:
        """Submit a typed command: its type, actor and payload JSON all come from the command itself."""
        return await self.submit(org_id, command.actor(org_id), command.TYPE, command.payload(), acting, wait)

    async def submit(
        self, org_id: uuid.UUID, actor: str, command_type: str, payload: dict[str, Any], acting: Actor, wait: float
    ) -> Submission:
        """Submit a command by its parts (a diagnostic command names its own actor)."""
        command = Command(
            id=uuid.uuid4(),
            org_id=org_id,
            actor=actor,
            type=command_type,
            payload=payload,
            principal=record_actor(acting),
            request_id=acting.request_id,
            reply_to=self._replies.stream if self._replies is not None else None,
        )
        if self._local is not None:
            return await self._run_locally(command, wait)
        await self._acceptor.accept(command)
        return await self._enqueue_and_wait(command, wait)

    async def _run_locally(self, command: Command, wait: float) -> Submission:
        """Mesh off: the command's row is written with its result; an accepted row only when the caller gets a 202."""
        assert self._local is not None
        if wait <= 0:
            await self._accept(command)
        task = asyncio.create_task(self._execute_locally(command, row_exists=wait <= 0))
        self._background.add(task)
        task.add_done_callback(self._finished)
        if wait > 0:
            await asyncio.wait((task,), timeout=wait)
            if task.done() and not task.cancelled() and task.exception() is None:
                return Submission(command, task.result())
            # still running, or failed for an infrastructure reason (a timeout may even have struck after
            # the commit went through): make it pollable. A final row stays as it is; a command that rolled
            # back stays accepted, and the worker's redriver retries it as the mesh would.
            await self._accept(command)
        return Submission(command, None)

    async def _execute_locally(self, command: Command, *, row_exists: bool) -> Outcome | None:
        """Run the command here; a deterministic failure is recorded failed (500) and dead-lettered at once,
        a transient one is raised (the command stays accepted, for the redriver)."""
        assert self._local is not None
        try:
            return await self._local.execute_unlocked(command, row_exists=row_exists)
        except Exception as exc:
            if is_transient(exc):
                raise
            defect = exc
        reason = failure_reason(defect)
        result = await self._local.fail_unlocked(command, reason, row_exists=row_exists)
        fields = dead_letter_fields(str(command.id), command.actor, command.type, None, 1, reason)
        try:
            await self._redis.xadd(self._keys.dead_letter_stream, fields)  # type: ignore[arg-type]
        except (RedisError, OSError) as exc:
            log.warning("dead letter not written", extra={"command_id": str(command.id), "error": repr(exc)})
        log.error(
            "command failed, not retried; dead-lettered",
            exc_info=defect,
            extra={
                "command_id": str(command.id),
                "actor": command.actor,
                "request_id": str(command.request_id) if command.request_id else None,
            },
        )
        return result

    def _finished(self, task: asyncio.Task[Outcome | None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # the caller may have had its 202 already: the accepted row stays, the worker's redriver retries it
            log.warning("in-process command failed", extra={"error": repr(task.exception())})

    async def _accept(self, command: Command) -> None:
        async with self._pool.acquire() as conn:
            await insert_command_if_absent(conn, command)

    async def _enqueue_and_wait(self, command: Command, wait: float) -> Submission:
        assert self._replies is not None
        future = self._replies.expect(command.id) if wait > 0 else None
        try:
            await self._batcher.call(*enqueue_command(self._keys, self._partitions, command))
        except (RedisError, OSError) as exc:
            # the row is durable: the redriver will enqueue it; the client polls meanwhile
            log.warning(
                "command not enqueued; left to the redriver", extra={"command_id": str(command.id), "error": repr(exc)}
            )
            self._replies.forget(command.id)
            return Submission(command, None)
        if future is None:
            return Submission(command, None)
        try:
            return Submission(command, await asyncio.wait_for(future, wait))
        except TimeoutError:
            return Submission(command, None)
        finally:
            self._replies.forget(command.id)

    async def close(self) -> None:
        await self._acceptor.close()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)


def enqueue_command(keys: KeySpace, partitions: int, command: Command) -> RedisCommand:
    """The XADD that puts the command on its actor's partition stream."""
    stream = keys.command_stream(partition_of(command.actor, partitions))
    return ("XADD", stream, "*", *(item for pair in stream_entry(command).items() for item in pair))


async def enqueue(client: Redis, keys: KeySpace, partitions: int, command: Command) -> None:
    stream = keys.command_stream(partition_of(command.actor, partitions))
    await client.xadd(stream, stream_entry(command))  # type: ignore[arg-type]
