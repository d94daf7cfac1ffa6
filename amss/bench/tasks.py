"""`amss bench tasks`: task creation over HTTP end to end (mesh on and off) against the bare SQL floor.

Everything runs in a throwaway database (created, migrated, dropped with FORCE at the end) and under a
private Redis prefix; the bench starts `amss server` (and, mesh on, one `amss worker`) as subprocesses.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import os
import random
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from amss.auth.keys import KeyPair, generate_key_pair
from amss.auth.tokens import TokenService
from amss.bench.common import (
    BenchError,
    Child,
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
from amss.bench.http_client import BenchHttpClient
from amss.config import Settings
from amss.domain.enums import Role
from amss.infra.postgres.database import drop_database, ensure_database
from amss.infra.postgres.migrations import Migrator, load_migrations
from amss.infra.postgres.pool import create_pool
from amss.infra.redis.client import create_redis
from amss.infra.redis.keys import KeySpace

FLOOR_ROW: Final = "floor (asyncpg)"
# throughput targets, as a share of the floor's
TARGETS: Final = {"http mesh off": 0.40, "http mesh on": 0.30}
ROWS: Final = ("floor", "off", "on")
TARGET_P99_SECONDS: Final = 0.050
BASE_TIME: Final = datetime(2031, 1, 1, tzinfo=UTC)
SLOT: Final = timedelta(hours=2)
LENGTH: Final = timedelta(hours=1)
READY_TIMEOUT: Final = 60.0


@dataclasses.dataclass(frozen=True)
class Planned:
    aircraft: int
    start: datetime
    end: datetime
    overlapping: bool


def plan_requests(
    count: int, aircraft: int, overlap_share: float, gap: int, base: datetime, seed: int = 7
) -> list[Planned]:
    """Round-robin over the aircraft, each request a fresh 1 h window in its own 2 h slot; about
    `overlap_share` instead move an earlier window (at least `gap` requests back) of the same aircraft by 30 min."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible plan, not a secret
    slots = [0] * aircraft
    created: list[list[tuple[int, datetime]]] = [[] for _ in range(aircraft)]
    plans: list[Planned] = []
    for i in range(count):
        a = i % aircraft
        earlier = [start for index, start in created[a] if index <= i - gap]
        if earlier and rng.random() < overlap_share:
            start = rng.choice(earlier) + timedelta(minutes=30)
            plans.append(Planned(a, start, start + LENGTH, True))
            continue
        start = base + SLOT * slots[a]
        slots[a] += 1
        created[a].append((i, start))
        plans.append(Planned(a, start, start + LENGTH, False))
    return plans


@dataclasses.dataclass
class Phase:
    latencies: list[float] = dataclasses.field(default_factory=list)
    elapsed: float = 0.0
    statuses: dict[int, int] = dataclasses.field(default_factory=dict)
    created: list[uuid.UUID] = dataclasses.field(default_factory=list)

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed > 0 else 0.0

    def count(self, *statuses: int) -> int:
        return sum(n for s, n in self.statuses.items() if s in statuses)


@dataclasses.dataclass
class Row:
    name: str
    peak: Phase
    half: Phase
    half_rate: float
    cpu: str


# (plan) -> (status, task id when 201)
Create = Callable[[Planned], Awaitable[tuple[int, uuid.UUID | None]]]


async def run_closed(create: Create, plans: Sequence[Planned], inflight: int) -> Phase:
    phase = Phase()
    work = iter(plans)

    async def lane() -> None:
        for plan in work:
            started = time.perf_counter()
            status, task_id = await create(plan)
            phase.latencies.append(time.perf_counter() - started)
            phase.statuses[status] = phase.statuses.get(status, 0) + 1
            if task_id is not None:
                phase.created.append(task_id)

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(min(inflight, len(plans)))))
    phase.elapsed = time.perf_counter() - started
    return phase


async def run_open(create: Create, plans: Sequence[Planned], rate: float) -> Phase:
    """Open loop: request i is due at i/rate; latency counts from when it was due (no coordinated omission).

    One dispatcher starts each request at its due time (creating them all up front would spend the
    first tens of milliseconds on the load generator's own bookkeeping and charge that to the server)."""
    phase = Phase()

    async def one(due: float, plan: Planned) -> None:
        status, task_id = await create(plan)
        phase.latencies.append(time.perf_counter() - due)
        phase.statuses[status] = phase.statuses.get(status, 0) + 1
        if task_id is not None:
            phase.created.append(task_id)

    started = time.perf_counter()
    running: list[asyncio.Task[None]] = []
    for i, plan in enumerate(plans):
        due = started + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        running.append(asyncio.create_task(one(due, plan)))
    await asyncio.gather(*running)
    phase.elapsed = time.perf_counter() - started
    return phase


def format_table(rows: Sequence[Row], inflight: int) -> str:
    columns = (f"throughput/s @{inflight}", "p50 ms", "p99 ms", "p99 ms @half", "201s", "409s", "other")
    width = max(len("configuration"), *(len(r.name) for r in rows))
    lines = ["  ".join([f"{'configuration':<{width}}", *columns])]
    for r in rows:
        both = [r.peak.count(201) + r.half.count(201), r.peak.count(409) + r.half.count(409)]
        other = sum(r.peak.statuses.values()) + sum(r.half.statuses.values()) - sum(both)
        cells = [
            f"{r.peak.throughput:.0f}",
            ms(percentile(r.peak.latencies, 50)),
            ms(percentile(r.peak.latencies, 99)),
            ms(percentile(r.half.latencies, 99)) + f" ({r.half_rate:.0f}/s)",
            str(both[0]),
            str(both[1]),
            str(other),
        ]
        lines.append(
            "  ".join([f"{r.name:<{width}}", *(f"{c:>{len(h)}}" for c, h in zip(cells, columns, strict=True))])
        )
    return "\n".join(lines)


class TasksBench:
    def __init__(self, settings: Settings, args: argparse.Namespace) -> None:
        self.settings, self.args = settings, args
        self.run_id = secrets.token_hex(4)
        self.prefix = f"bench-tasks-{self.run_id}"
        parts = urlsplit(settings.db_url)
        self.db_url = urlunsplit(parts._replace(path=f"/amss_bench_{self.run_id}"))
        self.log_dir = Path(tempfile.mkdtemp(prefix=f"amss-{self.prefix}-"))
        self.children = Children(self.log_dir)
        self.keys: KeyPair = generate_key_pair()
        self.pool: asyncpg.Pool | None = None
        self.org_id = self.user_id = uuid.uuid4()
        self.aircraft: list[uuid.UUID] = []
        self.phases = 0

    async def setup(self) -> None:
        await ensure_database(self.db_url)
        conn = await asyncpg.connect(self.db_url)
        try:
            async with Migrator(conn, load_migrations()) as migrator:
                await migrator.up()
            self.org_id = await conn.fetchval("INSERT INTO organizations (name) VALUES ('bench') RETURNING id")
            await conn.execute(
                "INSERT INTO org_policies (org_id, api_rate_limit_per_min) VALUES ($1, 1000000)", self.org_id
            )
            self.user_id = await conn.fetchval(
                "INSERT INTO users (org_id, email, role, password_hash) VALUES ($1, 'bench@example.com', $2, 'x')"
                " RETURNING id",
                self.org_id,
                Role.SCHEDULER.value,
            )
            rows = await conn.fetch(
                "INSERT INTO aircraft (org_id, tail_number, model) SELECT $1, 'B-' || n, 'A320'"
                " FROM generate_series(1, $2) AS n RETURNING id",
                self.org_id,
                self.args.aircraft,
            )
            self.aircraft = [row["id"] for row in rows]
        finally:
            await conn.close()
        # the application's own pool factory (JSON codecs, no per-release reset query): the floor pays
        # nothing the server does not
        self.pool = await create_pool(self.db_url, min_size=2, max_size=self.args.inflight)

    def plans(self, count: int) -> list[Planned]:
        self.phases += 1
        base = BASE_TIME + timedelta(days=30 * self.phases)
        return plan_requests(count, len(self.aircraft), self.args.overlap, self.args.inflight, base, self.phases)

    async def measure(self, name: str, create: Create, pids: dict[int, str]) -> Row:
        args = self.args
        await run_closed(create, self.plans(args.warmup), args.inflight)
        await self.settle()
        before = cpu_snapshot()
        peak = await run_closed(create, self.plans(args.requests), args.inflight)
        cpu = CpuUsage()
        cpu.add(before, cpu_snapshot(), {os.getpid(): "bench", **pids}, len(peak.latencies))
        rate = max(1.0, peak.throughput / 2)
        half = await run_open(create, self.plans(max(1, args.requests // 2)), rate)
        await self.verify(name, peak.created + half.created)
        return Row(name, peak, half, rate, cpu.describe(os.cpu_count()))

    async def settle(self) -> None:
        """Start each row's measurement with the earlier rows' dead tuples vacuumed and statistics
        current, so that autovacuum is less likely to wake up in the middle of a row."""
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            await conn.execute("VACUUM (ANALYZE) maintenance_tasks, audit_logs, outbox_events, commands")

    async def verify(self, name: str, created: list[uuid.UUID]) -> None:
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            overlaps = await conn.fetchval(
                "SELECT count(*) FROM maintenance_tasks a JOIN maintenance_tasks b ON a.aircraft_id = b.aircraft_id"
                " AND a.id < b.id AND a.active_window && b.active_window WHERE a.org_id = $1",
                self.org_id,
            )
            unaudited = await conn.fetchval(
                "SELECT count(*) FROM unnest($1::uuid[]) AS t(id) WHERE (SELECT count(*) FROM audit_logs l"
                " WHERE l.org_id = $2 AND l.entity_id = t.id AND l.action = 'create') <> 1",
                created,
                self.org_id,
            )
        if overlaps or unaudited:
            raise BenchError(f"{name}: {overlaps} overlapping active pairs, {unaudited} 201s without one audit row")
        progress(f"{name}: verified, no overlaps; each of {len(created)} 201s has its audit row")

    async def floor_create(self, plan: Planned) -> tuple[int, uuid.UUID | None]:
        assert self.pool is not None
        aircraft_id = self.aircraft[plan.aircraft]
        async with self.pool.acquire() as conn:
            try:
                async with conn.transaction():
                    row = await conn.fetchrow(
                        "INSERT INTO maintenance_tasks (org_id, aircraft_id, type, start_time, end_time)"
                        " VALUES ($1, $2, 'inspection', $3, $4) RETURNING id, created_at",
                        self.org_id,
                        aircraft_id,
                        plan.start,
                        plan.end,
                    )
                    assert row is not None
                    task_id = row["id"]
                    details = {
                        "aircraft_id": str(aircraft_id),
                        "type": "inspection",
                        "start_time": plan.start.isoformat(),
                    }
                    # the audit row and the event in one statement, as the application writes them
                    await conn.execute(
                        "WITH audit AS (INSERT INTO audit_logs (org_id, entity_type, entity_id, action, user_id,"
                        " entity_version, details) VALUES ($1, 'maintenance_task', $2, 'create', $3, 1, $4::jsonb))"
                        " INSERT INTO outbox_events (org_id, aggregate_type, aggregate_id, event_type, payload,"
                        " dedupe_key) VALUES ($1, 'task', $2, 'task_created', $5::jsonb, $6)",
                        self.org_id,
                        task_id,
                        self.user_id,
                        details,
                        {"task_id": str(task_id), "data": details},
                        f"task_created:{task_id}",
                    )
            except asyncpg.ExclusionViolationError:
                return 409, None
        return 201, task_id

    async def run_floor(self) -> Row:
        progress("floor: direct asyncpg transactions")
        row = await self.measure(FLOOR_ROW, self.floor_create, {})
        # the floor's 64 connections would stay open idle and starve the server and worker of
        # Postgres connections (max_connections) in the HTTP rows
        assert self.pool is not None
        await self.pool.close()
        self.pool = await create_pool(self.db_url, min_size=1, max_size=4)
        return row

    def runners(self) -> dict[str, Callable[[], Awaitable[Row]]]:
        return {
            "floor": self.run_floor,
            "off": lambda: self.run_http(mesh=False),
            "on": lambda: self.run_http(mesh=True),
        }

    async def run_http(self, mesh: bool) -> Row:
        name = f"http mesh {'on' if mesh else 'off'}"
        port, keys = free_port(), KeySpace(f"{self.prefix}-{'on' if mesh else 'off'}")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AMSS_", "JWT_"))}
        env.update(
            DB_URL=self.db_url,
            REDIS_URL=self.settings.effective_redis_url,
            LOG_LEVEL="warning",
            APP_ENV="test",
            BCRYPT_ROUNDS="4",
            JWT_PRIVATE_KEY_PEM=self.keys.private_pem,
            JWT_PUBLIC_KEY_PEM=self.keys.public_pem,
            AMSS_MESH="on" if mesh else "off",
            AMSS_REDIS_PREFIX=keys.prefix,
            HTTP_ADDR=f"127.0.0.1:{port}",
        )
        cli = [sys.executable, "-m", "amss.cli"]
        started = [await self.children.spawn(f"{name}-server", [*cli, "server"], env)]
        if mesh:
            worker_env = {**env, "WORKER_HTTP_ADDR": f"127.0.0.1:{free_port()}", "WORKER_ID": f"{keys.prefix}-w"}
            started.append(await self.children.spawn(f"{name}-worker", [*cli, "worker"], worker_env))
        progress(f"{name}: starting server{' and worker' if mesh else ''}")
        tokens = TokenService(self.keys, self.settings.jwt_issuer, timedelta(hours=2))
        token = tokens.issue_access(self.user_id, self.org_id, Role.SCHEDULER, datetime.now(UTC)).token
        path = "/api/v1/maintenance-tasks"
        load = BenchHttpClient("127.0.0.1", port, {"Authorization": f"Bearer {token}"})
        redis = create_redis(self.settings.effective_redis_url)
        try:
            async with aiohttp.ClientSession() as session:
                await self._wait_ready(
                    session, f"http://127.0.0.1:{port}/health", started, keys if mesh else None, redis
                )

                async def create(plan: Planned) -> tuple[int, uuid.UUID | None]:
                    body = {
                        "aircraft_id": str(self.aircraft[plan.aircraft]),
                        "type": "inspection",
                        "start_time": plan.start.isoformat(),
                        "end_time": plan.end.isoformat(),
                    }
                    status, payload = await load.post_json(path, orjson.dumps(body))
                    if status == 201:
                        return 201, uuid.UUID(orjson.loads(payload)["id"])
                    if status != 409 and not getattr(self, "_shown", False):
                        self._shown = True
                        progress(f"{name}: unexpected {status}: {payload[:300]!r}")
                    return status, None

                return await self.measure(name, create, {c.process.pid: "server/worker" for c in started})
        finally:
            load.close()
            await self.children.stop(started)
            with contextlib.suppress(RedisError, OSError):
                found = [key async for key in redis.scan_iter(match=f"{keys.prefix}*", count=1000)]
                if found:
                    await redis.delete(*found)
            await redis.aclose()

    async def _wait_ready(
        self, session: aiohttp.ClientSession, health: str, started: list[Child], keys: KeySpace | None, redis: Redis
    ) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            for child in started:
                if child.process.returncode is not None:
                    raise BenchError(f"{child.name} exited with {child.process.returncode}:\n{child.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(health) as response:
                    ok = response.status == 200
                if ok and keys is not None:
                    leases = [keys.partition_lease(p) for p in range(self.settings.amss_partitions)]
                    ok = await redis.exists(*leases) == len(leases)
                if ok:
                    return
            await asyncio.sleep(0.2)
        raise BenchError("the server (or worker) did not become ready in time")

    async def cleanup(self) -> None:
        await self.children.stop_all()
        if self.pool is not None:
            await self.pool.close()
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            await drop_database(self.db_url)
        for path in self.log_dir.glob("*.log"):
            path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.log_dir.rmdir()


def report(rows: Sequence[Row], args: argparse.Namespace) -> str:
    lines = [
        f"amss bench tasks: {args.requests} creates at {args.inflight} in flight (after {args.warmup} warm-up),"
        f" then {args.requests // 2} open-loop at half that row's peak; {args.aircraft} aircraft,"
        f" ~{args.overlap:.0%} deliberately overlapping windows; throwaway database, dropped afterwards",
        format_table(rows, args.inflight),
    ]
    lines += [f"  {row.name}: {row.cpu}" for row in rows]
    floor = next((row for row in rows if row.name == FLOOR_ROW), None)
    for row in rows:
        target = TARGETS.get(row.name)
        if target is None:
            continue
        p99 = percentile(row.half.latencies, 99)
        summary = f"p99 @half rate {ms(p99)} ms (target < 50: {verdict(p99 < TARGET_P99_SECONDS)})"
        if floor is not None:
            share = ratio(row.peak.throughput, floor.peak.throughput)
            summary = f"throughput {share:.2f} x floor (target >= {target:.2f}: {verdict(share >= target)}); {summary}"
        lines.append(f"{row.name}: {summary}")
    lines.append("verified per row: no two active tasks of an aircraft overlap; every 201 has exactly one audit row")
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--requests", type=int, default=3000, help="creates in the throughput phase of each row")
    parser.add_argument("--inflight", type=int, default=64, help="requests in flight in the throughput phase")
    parser.add_argument("--aircraft", type=int, default=200, help="aircraft the windows are spread over")
    parser.add_argument("--overlap", type=float, default=0.1, help="share of requests overlapping an earlier window")
    parser.add_argument("--warmup", type=int, default=300, help="creates before each row is measured")
    parser.add_argument(
        "--rows",
        default="floor,off,on",
        help="comma-separated rows to run, of floor, off (HTTP, mesh off), on (HTTP, mesh on); ratios need floor",
    )


async def bench_tasks(settings: Settings, args: argparse.Namespace) -> None:
    if settings.is_production:
        raise BenchError("refused when APP_ENV=production")
    selected = {name.strip() for name in args.rows.split(",") if name.strip()}
    if not selected or selected - set(ROWS):
        raise BenchError(f"--rows takes a comma-separated subset of {', '.join(ROWS)}, not {args.rows!r}")
    bench = TasksBench(settings, args)
    try:
        await bench.setup()
        rows = [await runner() for name, runner in bench.runners().items() if name in selected]
    finally:
        await bench.cleanup()
    print(report(rows, args), flush=True)


def run(settings: Settings, args: argparse.Namespace) -> None:
    run_bench("tasks", bench_tasks(settings, args))
