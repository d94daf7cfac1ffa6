"""`amss bench events`: the event pipeline's publish throughput against a bare floor, and webhook delivery.

Everything runs in a throwaway database (created, migrated, dropped at the end) under a private Redis
prefix. (a) A burst of task-created-sized outbox events is published to `{prefix}.events` twice over:
by the bare floor (one transaction: asyncpg `FOR UPDATE SKIP LOCKED`, one redis pipeline of XADDs, the UPDATE; same
batch size) and by the product's `OutboxPublisher` (lease claim committed, MULTI/EXEC of XADDs, mark),
as the worker runs it (commits not waiting for the WAL flush) and with synchronous commits, each in
the bench's process, alternating, best run of each reported. (b) With one `amss worker` process
running the whole pipeline and a webhook to a receiver in the bench's process: a burst of events
gives deliveries/s end to end (commit -> received), then events committed one per transaction at
half that rate give the commit -> received latency.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import orjson
from aiohttp import web
from redis.exceptions import RedisError

from amss.bench.common import (
    BenchError,
    Children,
    CpuUsage,
    cpu_snapshot,
    free_port,
    ms,
    percentile,
    progress,
    ratio,
    run_bench,
    verdict,
)
from amss.config import Settings
from amss.domain.events import DomainEvent
from amss.infra.postgres.database import drop_database, ensure_database
from amss.infra.postgres.migrations import Migrator, load_migrations
from amss.infra.postgres.outbox_publishing_repo import PgOutboxPublishing
from amss.infra.postgres.pool import create_pool
from amss.infra.redis.client import create_redis
from amss.infra.redis.event_stream import RedisEventStream
from amss.infra.redis.keys import KeySpace
from amss.jobs.events.publisher import OutboxPublisher, PublisherConfig

THROUGHPUT_TARGET: Final = 0.70  # product publish throughput, as a share of the floor's
TARGET_P99_SECONDS: Final = 1.0
READY_TIMEOUT: Final = 60.0
_INSERT = (
    "INSERT INTO outbox_events (id, org_id, aggregate_type, aggregate_id, event_type, payload, dedupe_key, created_at)"
    " SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::uuid[], $5::text[], $6::jsonb[], $7::text[],"
    " $8::timestamptz[])"
)
_FLOOR_CLAIM = (
    "SELECT id, event_type, org_id, payload::text AS payload FROM outbox_events WHERE processed_at IS NULL"
    " ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED"
)


def task_created(org_id: uuid.UUID, now: datetime) -> tuple[uuid.UUID, DomainEvent]:
    """A task_created event of the size the task service writes."""
    task_id = uuid.uuid4()
    data = {
        "aircraft_id": str(uuid.uuid4()),
        "type": "inspection",
        "state": "scheduled",
        "start_time": (now + timedelta(days=2)).isoformat(),
        "end_time": (now + timedelta(days=2, hours=2)).isoformat(),
        "assigned_mechanic_id": None,
    }
    event = DomainEvent("task_created", org_id, "task", task_id, now, f"task_created:{org_id}:{task_id}", data)
    return uuid.uuid4(), event


@dataclasses.dataclass
class Measured:
    name: str
    count: int
    seconds: float
    cpu: str

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0


class Receiver:
    """The webhook receiver: when (monotonic) each event arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.waiting: tuple[int, asyncio.Event] | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.arrived[orjson.loads(body)["event_id"]] = time.monotonic()
        if self.waiting is not None and len(self.arrived) >= self.waiting[0]:
            self.waiting[1].set()
        return web.Response(status=204)

    async def wait_for(self, count: int, within: float) -> None:
        done = asyncio.Event()
        self.waiting = (count, done)
        if len(self.arrived) >= count:
            return
        try:
            await asyncio.wait_for(done.wait(), within)
        except TimeoutError:
            raise BenchError(f"only {len(self.arrived)} of {count} deliveries arrived within {within:.0f}s") from None


class EventsBench:
    def __init__(self, settings: Settings, args: argparse.Namespace) -> None:
        self.settings, self.args = settings, args
        self.run_id = secrets.token_hex(4)
        self.prefix = f"bench-events-{self.run_id}"
        parts = urlsplit(settings.db_url)
        self.db_url = urlunsplit(parts._replace(path=f"/amss_bench_events_{self.run_id}"))
        self.log_dir = Path(tempfile.mkdtemp(prefix=f"amss-{self.prefix}-"))
        self.children = Children(self.log_dir)
        self.pool: asyncpg.Pool | None = None
        self.redis = create_redis(settings.effective_redis_url)
        self.org_id = uuid.uuid4()

    async def setup(self) -> None:
        await ensure_database(self.db_url)
        conn = await asyncpg.connect(self.db_url)
        try:
            async with Migrator(conn, load_migrations()) as migrator:
                await migrator.up()
            self.org_id = await conn.fetchval("INSERT INTO organizations (name) VALUES ('bench') RETURNING id")
            await conn.execute("INSERT INTO org_policies (org_id) VALUES ($1)", self.org_id)
        finally:
            await conn.close()
        self.pool = await create_pool(self.db_url, min_size=2, max_size=8)

    async def insert_events(self, count: int) -> list[uuid.UUID]:
        """`count` events committed in one transaction (a burst); their ids."""
        assert self.pool is not None
        now = datetime.now(UTC)
        events = [task_created(self.org_id, now) for _ in range(count)]
        async with self.pool.acquire() as conn:
            for start in range(0, count, 5000):
                chunk = events[start : start + 5000]
                await conn.execute(
                    _INSERT,
                    [event_id for event_id, _ in chunk],
                    [e.org_id for _, e in chunk],
                    [e.aggregate_type for _, e in chunk],
                    [e.aggregate_id for _, e in chunk],
                    [e.event_type for _, e in chunk],
                    [e.payload(event_id) for event_id, e in chunk],
                    [e.dedupe_key for _, e in chunk],
                    [e.occurred_at for _, e in chunk],
                )
        return [event_id for event_id, _ in events]

    async def reset(self, stream: str) -> None:
        """Every event unpublished again, the stream empty, statistics current."""
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            await conn.execute(
                "UPDATE outbox_events SET processed_at = NULL, locked_at = NULL, locked_by = NULL, attempt_count = 0"
            )
            await conn.execute("VACUUM (ANALYZE) outbox_events")
        await self.redis.delete(stream)

    async def run_floor(self, keys: KeySpace, count: int) -> Measured:
        assert self.pool is not None
        batch, stream = self.args.batch, keys.events_stream
        before, started, published = cpu_snapshot(), time.perf_counter(), 0
        async with self.pool.acquire() as conn:
            while True:
                async with conn.transaction():
                    rows = await conn.fetch(_FLOOR_CLAIM, batch)
                    if not rows:
                        break
                    async with self.redis.pipeline(transaction=False) as pipe:
                        for row in rows:
                            fields: Any = {
                                "event_id": str(row["id"]),
                                "event_type": row["event_type"],
                                "org_id": str(row["org_id"]),
                                "payload": row["payload"],
                            }
                            pipe.xadd(stream, fields, maxlen=1_000_000, approximate=True)
                        await pipe.execute()
                    await conn.execute(
                        "UPDATE outbox_events SET processed_at = now() WHERE id = ANY ($1::uuid[])",
                        [row["id"] for row in rows],
                    )
                published += len(rows)
        return self._measured("floor (asyncpg + XADD)", published, count, started, before)

    async def run_publisher(self, keys: KeySpace, count: int) -> Measured:
        """The product's publisher as the worker runs it: OUTBOX_CONCURRENCY rounds in flight, commits that
        do not wait for the WAL flush."""
        lanes = self.settings.outbox_concurrency
        pool = await create_pool(self.db_url, min_size=1, max_size=lanes + 1, session={"synchronous_commit": "off"})
        try:
            return await self._publish(PgOutboxPublishing(pool), keys, count, f"OutboxPublisher ({lanes} lanes)", lanes)
        finally:
            await pool.close()

    async def run_publisher_synchronous(self, keys: KeySpace, count: int) -> Measured:
        """Like for like with the floor: one round at a time, synchronous commits (two per batch: the floor has one)."""
        assert self.pool is not None
        return await self._publish(PgOutboxPublishing(self.pool), keys, count, "OutboxPublisher (1, sync)", 1)

    async def _publish(self, outbox: PgOutboxPublishing, keys: KeySpace, count: int, name: str, lanes: int) -> Measured:
        publisher = OutboxPublisher(
            PublisherConfig(owner=f"{self.prefix}-publisher", batch_size=self.args.batch),
            outbox,
            RedisEventStream(self.redis, keys),
        )
        before, started = cpu_snapshot(), time.perf_counter()

        async def lane() -> int:
            published = 0
            while True:
                round_ = await publisher.publish_once()
                if round_.claimed == 0:
                    return published
                published += round_.published

        published = sum(await asyncio.gather(*(lane() for _ in range(lanes))))
        return self._measured(name, published, count, started, before)

    def _measured(self, name: str, published: int, count: int, started: float, before: Any) -> Measured:
        elapsed = time.perf_counter() - started
        if published != count:
            raise BenchError(f"{name}: published {published} of {count} events")
        cpu = CpuUsage()
        cpu.add(before, cpu_snapshot(), {os.getpid(): "bench"}, published)
        progress(f"{name}: {published} events in {elapsed:.2f}s")
        return Measured(name, published, elapsed, cpu.describe(os.cpu_count()).replace("per command", "per event"))

    async def publish_phase(self) -> list[Measured]:
        keys = KeySpace(f"{self.prefix}-publish")
        count = self.args.events
        progress(f"publish: inserting {count} events")
        await self.insert_events(count)
        best: dict[str, Measured] = {}
        try:
            for _ in range(self.args.rounds):
                for runner in (self.run_floor, self.run_publisher, self.run_publisher_synchronous):
                    await self.reset(keys.events_stream)
                    measured = await runner(keys, count)
                    if measured.name not in best or measured.rate > best[measured.name].rate:
                        best[measured.name] = measured
        finally:
            await self.redis.delete(keys.events_stream)
        return list(best.values())

    async def delivery_phase(self) -> tuple[Measured, list[float], float, str]:
        assert self.pool is not None
        receiver = Receiver()
        app = web.Application()
        app.router.add_post("/hook", receiver.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        keys = KeySpace(f"{self.prefix}-deliver")
        async with self.pool.acquire() as conn:
            await conn.execute("UPDATE outbox_events SET processed_at = now() WHERE processed_at IS NULL")
            await conn.execute(
                "INSERT INTO webhooks (org_id, url, events, secret) VALUES ($1, $2, '{task_created}', $3)",
                self.org_id,
                f"http://127.0.0.1:{port}/hook",
                secrets.token_hex(32),
            )
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AMSS_", "JWT_", "OUTBOX_", "WEBHOOK_"))}
        worker_port = free_port()
        env.update(
            DB_URL=self.db_url,
            REDIS_URL=self.settings.effective_redis_url,
            LOG_LEVEL="warning",
            APP_ENV="test",
            AMSS_REDIS_PREFIX=keys.prefix,
            WORKER_HTTP_ADDR=f"127.0.0.1:{worker_port}",
            WORKER_ID=f"{keys.prefix}-w",
        )
        worker = await self.children.spawn("worker", [sys.executable, "-m", "amss.cli", "worker"], env)
        groups = {os.getpid(): "bench (load + receiver)", worker.process.pid: "worker"}
        try:
            await self._wait_ready(f"http://127.0.0.1:{worker_port}/health", worker)
            burst = self.args.deliveries
            progress(f"deliveries: a burst of {burst} events")
            before, started = cpu_snapshot(), time.perf_counter()
            await self.insert_events(burst)
            await receiver.wait_for(burst, 600)
            elapsed = time.perf_counter() - started
            cpu = CpuUsage()
            cpu.add(before, cpu_snapshot(), groups, burst)
            deliveries = Measured("deliveries", burst, elapsed, _per_delivery(cpu))
            rate = max(1.0, deliveries.rate / 2)
            progress(f"latency: {self.args.latency_events} events at {rate:.0f}/s")
            before = cpu_snapshot()
            committed = await self._steady(rate, self.args.latency_events)
            await receiver.wait_for(burst + len(committed), 600)
            cpu = CpuUsage()
            cpu.add(before, cpu_snapshot(), groups, len(committed))
            latencies = [receiver.arrived[str(event_id)] - at for event_id, at in committed]
            return deliveries, latencies, rate, _per_delivery(cpu)
        finally:
            await self.children.stop([worker])
            await runner.cleanup()
            with contextlib.suppress(RedisError, OSError):
                found = [key async for key in self.redis.scan_iter(match=f"{keys.prefix}*", count=1000)]
                if found:
                    await self.redis.delete(*found)

    async def _steady(self, rate: float, count: int) -> list[tuple[uuid.UUID, float]]:
        """`count` events, one transaction each, at `rate` per second (open loop); (id, commit time) each."""
        assert self.pool is not None
        committed: list[tuple[uuid.UUID, float]] = []
        start = time.monotonic()

        async def one(n: int) -> None:
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            event_id, event = task_created(self.org_id, datetime.now(UTC))
            assert self.pool is not None
            async with self.pool.acquire() as conn:
                await conn.execute(
                    _INSERT,
                    [event_id],
                    [event.org_id],
                    [event.aggregate_type],
                    [event.aggregate_id],
                    [event.event_type],
                    [event.payload(event_id)],
                    [event.dedupe_key],
                    [event.occurred_at],
                )
            committed.append((event_id, time.monotonic()))

        await asyncio.gather(*(one(n) for n in range(count)))
        return committed

    async def _wait_ready(self, health: str, worker: Any) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if worker.process.returncode is not None:
                    raise BenchError(f"the worker exited with {worker.process.returncode}:\n{worker.log_tail()}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.get(health) as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.2)
        raise BenchError("the worker did not become ready in time")

    async def cleanup(self) -> None:
        await self.children.stop_all()
        if self.pool is not None:
            await self.pool.close()
        await self.redis.aclose()
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            await drop_database(self.db_url)
        for path in self.log_dir.glob("*.log"):
            path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.log_dir.rmdir()


def _per_delivery(cpu: CpuUsage) -> str:
    return cpu.describe(os.cpu_count()).replace("per command", "per delivery")


def report(
    args: argparse.Namespace,
    publish: Sequence[Measured],
    deliveries: Measured,
    latencies: list[float],
    rate: float,
    latency_cpu: str,
) -> str:
    floor, product, synchronous = publish
    share = ratio(product.rate, floor.rate)
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    lines = [
        f"amss bench events: {args.events} task-created-sized events, batch {args.batch}, best of {args.rounds}"
        f" alternating runs; throwaway database, dropped afterwards",
        f"{'row':<28}{'events':>8}{'seconds':>9}{'events/s':>10}",
        *(f"{m.name:<28}{m.count:>8}{m.seconds:>9.2f}{m.rate:>10.0f}" for m in publish),
        f"publish: {share:.2f} x floor (target >= {THROUGHPUT_TARGET:.2f}: {verdict(share >= THROUGHPUT_TARGET)});"
        f" one round at a time with synchronous commits {ratio(synchronous.rate, floor.rate):.2f} x floor",
        *(f"  {m.name}: {m.cpu}" for m in publish),
        f"deliveries (one worker, local receiver, burst of {deliveries.count}): {deliveries.rate:.0f}/s end to end"
        f" ({deliveries.seconds:.2f}s commit -> last received)",
        f"  {deliveries.cpu}",
        f"commit -> received at {rate:.0f}/s (half that peak), {len(latencies)} events: p50 {ms(p50)} ms,"
        f" p99 {ms(p99)} ms (target < 1000: {verdict(p99 < TARGET_P99_SECONDS)})",
        f"  {latency_cpu}",
    ]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--events", type=int, default=20_000, help="events of the publish throughput burst")
    parser.add_argument("--batch", type=int, default=500, help="publisher batch size (floor and product)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating floor/product runs; the best is reported")
    parser.add_argument("--deliveries", type=int, default=5_000, help="events of the end-to-end delivery burst")
    parser.add_argument("--latency-events", type=int, default=2_000, help="events committed at half the peak rate")


async def bench_events(settings: Settings, args: argparse.Namespace) -> None:
    if settings.is_production:
        raise BenchError("refused when APP_ENV=production")
    if min(args.events, args.batch, args.rounds, args.deliveries, args.latency_events) < 1:
        raise BenchError("--events, --batch, --rounds, --deliveries and --latency-events must be positive")
    bench = EventsBench(settings, args)
    try:
        await bench.setup()
        publish = await bench.publish_phase()
        deliveries, latencies, rate, latency_cpu = await bench.delivery_phase()
    finally:
        await bench.cleanup()
    print(report(args, publish, deliveries, latencies, rate, latency_cpu), flush=True)


def run(settings: Settings, args: argparse.Namespace) -> None:
    run_bench("events", bench_events(settings, args))
