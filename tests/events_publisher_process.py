"""A publisher in a process of its own that stops dead between its XADDs and the marking (the SIGKILL test).

`python -m tests.events_publisher_process DB_URL REDIS_URL PREFIX`: claims one batch, XADDs it, prints
`published N` and then waits (for the test's SIGKILL) instead of marking the rows.
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


async def main(db_url: str, redis_url: str, prefix: str) -> None:
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


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
