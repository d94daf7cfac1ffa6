"""Pipeline parts in processes of their own that stop dead half-way (the SIGKILL tests).

`python -m tests.events_processes publisher DB_URL REDIS_URL PREFIX`: claims one batch, XADDs it, prints
`published N` and then waits (for the test's SIGKILL) instead of marking the rows.
`python -m tests.events_processes consumer DB_URL REDIS_URL PREFIX`: reads the events stream in group
amss.workers as consumer `doomed`, prints `read N` and waits instead of fanning out and acknowledging.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence

from amss.app.events.ports import OutboxRecord
from amss.infra.postgres.outbox_publishing_repo import PgOutboxPublishing
from amss.infra.postgres.pool import create_pool
from amss.infra.redis.client import create_redis
from amss.infra.redis.event_stream import RedisEventStream
from amss.infra.redis.keys import KeySpace
from amss.jobs.events.publisher import OutboxPublisher, PublisherConfig

OWNER = "doomed"


async def publisher(db_url: str, redis_url: str, prefix: str) -> None:
    pool = await create_pool(db_url, min_size=1, max_size=2)
    client = create_redis(redis_url)

    async def stall(records: Sequence[OutboxRecord]) -> None:
        print(f"published {len(records)}", flush=True)
        await asyncio.sleep(3600)

    publisher = OutboxPublisher(
        PublisherConfig(owner=OWNER, batch_size=1000),
        PgOutboxPublishing(pool),
        RedisEventStream(client, KeySpace(prefix)),
        after_publish=stall,
    )
    await publisher.publish_once()


async def consumer(redis_url: str, prefix: str) -> None:
    stream = RedisEventStream(create_redis(redis_url), KeySpace(prefix))
    entries = await stream.read(OWNER, 1000, 1000)
    print(f"read {len(entries)}", flush=True)
    await asyncio.sleep(3600)


if __name__ == "__main__":
    mode, db_url, redis_url, prefix = sys.argv[1:5]
    asyncio.run(publisher(db_url, redis_url, prefix) if mode == "publisher" else consumer(redis_url, prefix))
