"""`{prefix}.events` and `{prefix}.dlq` on Redis Streams: the publisher's XADDs, the fan-out's reads, claims, acks.

A publisher's batch goes out as one MULTI/EXEC, in publish order, so it is applied whole or not
at all; each entry carries `event_id`, `event_type`, `org_id`, `payload` (the event's JSON) and,
when the event has one, `traceparent`. The stream is trimmed approximately (`MAXLEN ~`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from amss.app.events.ports import DeadLetter, OutboxRecord, StreamEntry
from amss.infra.redis.keys import EVENTS_GROUP, KeySpace


class RedisEventStream:
    def __init__(self, client: Redis, keys: KeySpace, *, maxlen: int = 1_000_000, dlq_maxlen: int = 100_000) -> None:
        self._client = client
        self._stream = keys.events_stream
        self._dlq = keys.dead_letter_stream
        self._maxlen = maxlen
        self._dlq_maxlen = dlq_maxlen

    @property
    def name(self) -> str:
        return self._stream

    async def publish(self, records: Sequence[OutboxRecord]) -> list[str | None]:
        if not records:
            return []
        try:
            async with self._client.pipeline(transaction=True) as pipe:
                for record in records:
                    fields: dict[Any, Any] = {
                        "event_id": str(record.id),
                        "event_type": record.event_type,
                        "org_id": str(record.org_id),
                        "payload": record.payload,
                    }
                    if record.traceparent:
                        fields["traceparent"] = record.traceparent
                    pipe.xadd(self._stream, fields, maxlen=self._maxlen, approximate=True)
                replies = await pipe.execute(raise_on_error=False)
        except (RedisError, OSError) as exc:
            return [_describe(exc)] * len(records)
        return [_describe(reply) if isinstance(reply, Exception) else None for reply in replies]

    async def dead_letter(self, letters: Sequence[DeadLetter]) -> None:
        if not letters:
            return
        async with self._client.pipeline(transaction=False) as pipe:
            for letter in letters:
                fields: dict[Any, Any] = {
                    "source": letter.source,
                    "id": str(letter.id),
                    "org_id": "" if letter.org_id is None else str(letter.org_id),
                    "error": letter.error[:2000],
                }
                pipe.xadd(self._dlq, fields, maxlen=self._dlq_maxlen, approximate=True)
            await pipe.execute()

    async def ensure_group(self) -> None:
        try:
            await self._client.xgroup_create(self._stream, EVENTS_GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(self, consumer: str, count: int, block_ms: int, *, own_pending: bool = False) -> list[StreamEntry]:
        streams: Any = {self._stream: "0" if own_pending else ">"}
        block = None if own_pending else block_ms
        try:
            answer: Any = await self._client.xreadgroup(EVENTS_GROUP, consumer, streams, count=count, block=block)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            # the stream or the group is gone (first start, or the key was deleted): make both, read again
            await self.ensure_group()
            answer = await self._client.xreadgroup(EVENTS_GROUP, consumer, streams, count=count, block=block)
        entries: list[StreamEntry] = []
        for _, messages in answer or []:
            entries.extend(_entry(entry_id, fields) for entry_id, fields in messages if fields is not None)
        if own_pending and entries:
            return await self._with_delivery_counts(entries)
        return entries

    async def reclaim(self, consumer: str, min_idle_ms: int, count: int) -> list[StreamEntry]:
        try:
            answer: Any = await self._client.xautoclaim(
                self._stream, EVENTS_GROUP, consumer, min_idle_ms, "0-0", count=count
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self.ensure_group()
            return []
        messages = answer[1] if answer else []
        entries = [_entry(entry_id, fields) for entry_id, fields in messages if fields is not None]
        return await self._with_delivery_counts(entries) if entries else []

    async def _with_delivery_counts(self, entries: list[StreamEntry]) -> list[StreamEntry]:
        async with self._client.pipeline(transaction=False) as pipe:
            for entry in entries:
                pipe.xpending_range(self._stream, EVENTS_GROUP, min=entry.entry_id, max=entry.entry_id, count=1)
            answers = await pipe.execute()
        counts = {_text(row["message_id"]): int(row["times_delivered"]) for rows in answers for row in rows}
        return [
            StreamEntry(e.entry_id, e.event_id, e.org_id, e.event_type, counts.get(e.entry_id, e.deliveries))
            for e in entries
        ]

    async def ack(self, entry_ids: Sequence[str]) -> None:
        if entry_ids:
            await self._client.xack(self._stream, EVENTS_GROUP, *entry_ids)


def _entry(entry_id: bytes | str, fields: dict[bytes, bytes]) -> StreamEntry:
    decoded = {_text(key): _text(value) for key, value in fields.items()}
    return StreamEntry(
        _text(entry_id), _uuid(decoded.get("event_id")), _uuid(decoded.get("org_id")), decoded.get("event_type", "")
    )


def _uuid(value: str | None) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:2000]
