"""Submitting commands: enqueue the whole command on its actor's partition stream, await the outcome.

Durable when promised (docs/architecture.md, mesh step 1): the stream entry carries the whole
command (its envelope and its typed payload, as compact JSON), and the execution's first statement
claims the command row, so a caller that waits for its outcome costs no write here. Only a caller
about to get a 202 (`Prefer: respond-async`: before the XADD; a wait that ran out, or an XADD that
failed: after it) has its accepted row written and committed first, so that its `Location`
resolves and the redriver finishes a command Redis lost; if that row turns out final already, the
caller gets the stored outcome instead. With the mesh off (`AMSS_MESH=off`) the bus hands the
command to the same executor entry point in this process instead of a stream: a transport, not a
second execution path.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from amss.actors.executor import CommandExecutor
from amss.actors.failures import dead_letter_fields, failure_reason, is_transient
from amss.actors.partitioning import partition_of
from amss.actors.replies import ReplyListener
from amss.app.commands.base import CommandModel
from amss.app.commands.bus import Submission
from amss.app.commands.envelope import Command, record_actor
from amss.app.commands.log import CommandAcceptance
from amss.app.commands.outcomes import Outcome
from amss.app.commands.transport import MeshKeys, RoundTrips, StreamCommand
from amss.domain.principal import Actor

log = logging.getLogger(__name__)


def stream_entry(command: Command) -> dict[str, str]:
    """The entry's fields: the id, actor, type and request id for routing and logs, and the rest of the
    envelope with the payload in `c` (compact JSON), from which the executor claims the row."""
    entry = {"id": str(command.id), "actor": command.actor, "type": command.type}
    if command.request_id is not None:
        entry["rid"] = str(command.request_id)
    envelope: dict[str, Any] = {"org": str(command.org_id), "p": command.payload, "by": command.principal}
    if command.reply_to is not None:
        envelope["to"] = command.reply_to
    entry["c"] = orjson.dumps(envelope).decode()
    return entry


def command_of_entry(fields: Mapping[bytes, bytes]) -> Command | None:
    """The command an entry carries; None for an entry that carries only its id (then its row is the record)."""
    raw = fields.get(b"c")
    if raw is None:
        return None
    envelope = orjson.loads(raw)
    rid = fields.get(b"rid")
    return Command(
        id=uuid.UUID(fields[b"id"].decode()),
        org_id=uuid.UUID(envelope["org"]),
        actor=fields[b"actor"].decode(),
        type=fields[b"type"].decode(),
        payload=envelope["p"],
        principal=envelope["by"],
        request_id=uuid.UUID(rid.decode()) if rid is not None else None,
        reply_to=envelope.get("to"),
    )


class CommandBus:
    def __init__(
        self,
        acceptor: CommandAcceptance,
        client: Redis,
        keys: MeshKeys,
        partitions: int,
        replies: ReplyListener | None,
        local_executor: CommandExecutor | None,
        batcher: RoundTrips,
    ) -> None:
        if replies is None and local_executor is None:
            raise ValueError("a bus needs a reply listener (mesh on) or a local executor (mesh off)")
        self._redis = client
        self._keys = keys
        self._partitions = partitions
        self._replies = replies
        self._local = local_executor
        # XADDs of requests submitting at the same moment share a round trip
        self._batcher = batcher
        # accepted rows of requests submitting at the same moment share a statement and a commit
        self._acceptor = acceptor
        self._background: set[asyncio.Task[Any]] = set()

    async def send(
        self,
        org_id: uuid.UUID,
        command: CommandModel,
        acting: Actor,
        wait: float,
        *,
        command_id: uuid.UUID | None = None,
    ) -> Submission:
        """Submit a typed command: its type, actor and payload JSON all come from the command itself."""
        return await self.submit(
            org_id, command.actor(org_id), command.TYPE, command.payload(), acting, wait, command_id=command_id
        )

    async def submit(
        self,
        org_id: uuid.UUID,
        actor: str,
        command_type: str,
        payload: dict[str, Any],
        acting: Actor,
        wait: float,
        *,
        command_id: uuid.UUID | None = None,
    ) -> Submission:
        """Submit a command by its parts (a diagnostic command names its own actor)."""
        command = Command(
            id=command_id or uuid.uuid4(),
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
        if wait <= 0:
            await self._acceptor.accept(command)  # nothing has run it yet: no outcome can be stored
        return await self._enqueue_and_wait(command, wait)

    async def _promise(self, command: Command) -> Submission:
        """About to answer 202: write the accepted row; a row already final gives its stored outcome instead."""
        return Submission(command, await self._acceptor.accept(command))

    async def _run_locally(self, command: Command, wait: float) -> Submission:
        """Mesh off: the same executor entry point as a worker's, in this process."""
        if wait <= 0:
            await self._acceptor.accept(command)
        task = asyncio.create_task(self._execute_locally(command))
        self._background.add(task)
        task.add_done_callback(self._finished)
        if wait <= 0:
            return Submission(command, None)
        await asyncio.wait((task,), timeout=wait)
        if task.done() and not task.cancelled() and task.exception() is None:
            return Submission(command, task.result())
        # still running (the accepted row's insert then waits for its commit), or failed for an infrastructure
        # reason: make it pollable. A command that rolled back stays accepted, and the redriver retries it
        return await self._promise(command)

    async def _execute_locally(self, command: Command) -> Outcome | None:
        """Run the command here; a deterministic failure is recorded failed (500) and dead-lettered at once,
        a transient one is raised (the redriver retries the command once it is accepted)."""
        assert self._local is not None
        try:
            done = await self._local.execute(command)
            return done[1] if done is not None else None
        except Exception as exc:
            if is_transient(exc):
                raise
            defect = exc
        reason = failure_reason(defect)
        failed = await self._local.fail(command, 1, reason, transient=False)
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
        return failed[1] if failed is not None else None

    def _finished(self, task: asyncio.Task[Outcome | None]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # the caller may have had its 202 already: the accepted row stays, the worker's redriver retries it
            log.warning("in-process command failed", extra={"error": repr(task.exception())})

    async def _enqueue_and_wait(self, command: Command, wait: float) -> Submission:
        assert self._replies is not None
        future = self._replies.expect(command.id) if wait > 0 else None
        try:
            await self._batcher.call(*enqueue_command(self._keys, self._partitions, command))
        except (RedisError, OSError) as exc:
            # left to the redriver, from the accepted row; the client polls meanwhile
            log.warning(
                "command not enqueued; left to the redriver", extra={"command_id": str(command.id), "error": repr(exc)}
            )
            self._replies.forget(command.id)
            return await self._promise(command) if future is not None else Submission(command, None)
        if future is None:
            return Submission(command, None)
        try:
            return Submission(command, await asyncio.wait_for(future, wait))
        except TimeoutError:
            pass
        finally:
            self._replies.forget(command.id)
        # the wait ran out (or Redis lost the entry): promise it durably, unless it finished meanwhile
        return await self._promise(command)

    async def close(self) -> None:
        await self._acceptor.close()
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)


def enqueue_command(keys: MeshKeys, partitions: int, command: Command) -> StreamCommand:
    """The XADD that puts the command on its actor's partition stream."""
    stream = keys.command_stream(partition_of(command.actor, partitions))
    return ("XADD", stream, "*", *(item for pair in stream_entry(command).items() for item in pair))


async def enqueue(client: Redis, keys: MeshKeys, partitions: int, command: Command) -> None:
    stream = keys.command_stream(partition_of(command.actor, partitions))
    await client.xadd(stream, stream_entry(command))  # type: ignore[arg-type]
