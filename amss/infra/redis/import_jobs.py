"""The `{prefix}:import.jobs` stream: uploads announce their import there; workers read it in one consumer group.

An entry carries `import_id` and `org_id`. A worker reads new entries (`>`) as consumer
`worker_id`, acknowledges (and deletes) an entry once its job is finished or not its to run, and
takes over entries another consumer left unacknowledged past the lease (XAUTOCLAIM): that
consumer's worker died. The group is made on first use from the stream's start (so entries
written before any worker ran are read), and made again if Redis lost it. A job that keeps
crashing leaves one `{prefix}.dlq` entry: `source=import`, `id`, `org_id`, `error`.
"""

from __future__ import annotations

import uuid
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from amss.app.imports.ports import QueuedImport
from amss.infra.redis.keys import IMPORT_GROUP, KeySpace

# how many entries a read takes at most
READ_COUNT = 4


def _jobs(entries: Any) -> list[QueuedImport]:
    jobs: list[QueuedImport] = []
    for entry_id, fields in entries or []:
        if not fields:  # deleted meanwhile
            continue
        try:
            jobs.append(
                QueuedImport(
                    _text(entry_id), uuid.UUID(_text(fields[b"org_id"])), uuid.UUID(_text(fields[b"import_id"]))
                )
            )
        except (KeyError, ValueError):
            continue  # not an entry this code writes: left for an operator
    return jobs


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisImportQueue:
    """The API's side: announce an upload (amss.app.imports.ports.ImportQueue)."""

    def __init__(self, client: Redis, keys: KeySpace) -> None:
        self._client = client
        self._keys = keys

    async def enqueue(self, org_id: uuid.UUID, import_id: uuid.UUID) -> None:
        fields = {"import_id": str(import_id), "org_id": str(org_id)}
        await self._client.xadd(self._keys.import_jobs_stream, fields)  # type: ignore[arg-type]


class RedisImportJobReader:
    """A worker's side (amss.app.imports.ports.ImportJobReader)."""

    def __init__(self, client: Redis, keys: KeySpace, consumer: str) -> None:
        self._client = client
        self._keys = keys
        self._consumer = consumer
        self._group_ready = False

    async def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            await self._client.xgroup_create(self._keys.import_jobs_stream, IMPORT_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def read(self, block_ms: int) -> list[QueuedImport]:
        await self._ensure_group()
        try:
            reply = await self._client.xreadgroup(
                IMPORT_GROUP, self._consumer, {self._keys.import_jobs_stream: ">"}, count=READ_COUNT, block=block_ms
            )
        except ResponseError as exc:
            if "NOGROUP" in str(exc):  # Redis lost the stream: make the group again, the redriver re-enqueues
                self._group_ready = False
                return []
            raise
        streams: list[Any] = list(reply or [])
        return [job for stream in streams for job in _jobs(stream[1])]

    async def reclaim(self, min_idle_ms: int) -> list[QueuedImport]:
        await self._ensure_group()
        try:
            reply = await self._client.xautoclaim(
                self._keys.import_jobs_stream, IMPORT_GROUP, self._consumer, min_idle_ms, "0-0", count=READ_COUNT
            )
        except ResponseError as exc:
            if "NOGROUP" in str(exc):
                self._group_ready = False
                return []
            raise
        return _jobs(reply[1] if len(reply) > 1 else [])

    async def ack(self, entry_id: str) -> None:
        stream = self._keys.import_jobs_stream
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.xack(stream, IMPORT_GROUP, entry_id)
            pipe.xdel(stream, entry_id)
            await pipe.execute()

    async def dead_letter(self, org_id: uuid.UUID, import_id: uuid.UUID, error: str) -> None:
        fields = {"source": "import", "id": str(import_id), "org_id": str(org_id), "error": error[:1000]}
        await self._client.xadd(self._keys.dead_letter_stream, fields)  # type: ignore[arg-type]
