"""`amss bench mesh`: what the command mesh costs over the same durable work done bare.

Three rows, measured in one run on this machine against DB_URL and REDIS_URL:

- **floor**: per command, in series, from the bench process: INSERT the command row; a bare Redis
  round trip (XADD to a stream, a separate echo process does XREADGROUP + XADD to our reply stream
  + XACK/XDEL, one listener task here resolves the future); then the lock-and-update transaction
  on the row (`lock_command` + `complete_command`). The row inserts and XADDs of commands in
  flight together are batched per event-loop turn exactly as the API batches them
  (`CommandAcceptor`, `PipelineBatcher`), so the floor stays a bound on the mesh.
- **mesh, N workers**: `diag.noop` submitted through `CommandBus` (with a `ReplyListener`) to N
  real `amss worker` processes started here.

For each: sequential p50/p99 (one command at a time) and throughput with `--inflight` commands in
flight, plus where the CPU went during the throughput phase. The rows are interleaved over
`--rounds` rounds, each row started afresh per round, so a burst of someone else's load on a shared
machine spreads over all rows; `commands` is vacuumed before each row. Every run uses its own Redis prefix
(`bench-<random>…`), organization row and processes, and removes all of them afterwards, also on
Ctrl-C or SIGTERM.
"""

import argparse
import asyncio
import contextlib
import dataclasses
import os
import platform
import secrets
import signal
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import aiohttp
import asyncpg
import uvloop
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis
from redis.exceptions import RedisError

from amss.actors.bus import CommandBus, stream_entry
from amss.actors.partitioning import aircraft_actor, owner_of
from amss.actors.replies import ReplyListener
from amss.app.commands.envelope import Command, record_actor
from amss.app.commands.outcomes import Succeeded
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
    run_bench,
)
from amss.bench.floor_echo import ready_key
from amss.bench.mesh_report import RowResult, format_report
from amss.config import Settings
from amss.domain.principal import Actor
from amss.infra.postgres.command_acceptance import CommandAcceptor
from amss.infra.postgres.commands_repo import complete_command, lock_command
from amss.infra.postgres.pool import create_pool
from amss.infra.redis.batching import PipelineBatcher
from amss.infra.redis.client import create_redis
from amss.infra.redis.keys import KeySpace

COMMAND_TYPE: Final = "diag.noop"
ECHO_GROUP: Final = "bench.echo"
ACTOR_COUNT: Final = 1024
BENCH_ACTING: Final = Actor.for_job("bench")
READY_TIMEOUT_SECONDS: Final = 60.0


# --- pure helpers -----------------------------------------------------------------------------------


def parse_worker_counts(text: str) -> list[int]:
    """`"1,2"` -> `[1, 2]`: distinct positive counts in the order given."""
    counts: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit() or int(part) < 1:
            raise ValueError(f"expected positive worker counts separated by commas, got {text!r}")
        if int(part) not in counts:
            counts.append(int(part))
    if not counts:
        raise ValueError("expected at least one worker count")
    return counts


# --- the bench --------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class BenchOptions:
    sequential: int
    concurrent: int
    inflight: int
    partitions: int
    workers: list[int]
    warmup: int
    rounds: int
    pool_size: int
    wait: float


def split_evenly(total: int, parts: int) -> list[int]:
    """`total` spread over `parts` as evenly as possible, larger shares first: (10, 3) -> [4, 3, 3]."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


Operation = Callable[[int], Awaitable[None]]


async def run_sequential(operation: Operation, count: int) -> list[float]:
    latencies: list[float] = []
    for i in range(count):
        started = time.perf_counter()
        await operation(i)
        latencies.append(time.perf_counter() - started)
    return latencies


async def run_concurrent(operation: Operation, count: int, inflight: int) -> tuple[list[float], float, int]:
    """Latencies of the successful operations, the elapsed seconds and the number of failures."""
    latencies: list[float] = []
    failures = 0
    numbers: Iterator[int] = iter(range(count))

    async def lane() -> None:
        nonlocal failures
        for i in numbers:  # shared: each lane takes the next number
            started = time.perf_counter()
            try:
                await operation(i)
            except (BenchError, TimeoutError, RedisError, OSError, asyncpg.PostgresError):
                failures += 1
                continue
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(min(inflight, count))))
    return latencies, time.perf_counter() - started, failures


@dataclasses.dataclass
class Tally:
    """One configuration's measurements, over all rounds."""

    sequential: list[float] = dataclasses.field(default_factory=list)
    loaded: list[float] = dataclasses.field(default_factory=list)
    throughputs: list[float] = dataclasses.field(default_factory=list)
    errors: int = 0
    cpu: CpuUsage = dataclasses.field(default_factory=CpuUsage)


class Configuration:
    """One row of the table: started afresh for each round, measured, stopped."""

    name: str

    async def start(self) -> None:
        raise NotImplementedError

    async def operation(self, i: int) -> None:
        raise NotImplementedError

    async def mark(self, stage: str) -> None:
        """Called after each stage: "warm", "sequential", "concurrent"."""

    def processes(self) -> dict[int, str]:
        return {}

    async def stop(self) -> None:
        raise NotImplementedError

    def notes(self) -> list[str]:
        return []


class MeshBench:
    def __init__(self, settings: Settings, options: BenchOptions) -> None:
        self.settings = settings
        self.options = options
        self.run_id = secrets.token_hex(4)
        self.prefix = f"bench-{self.run_id}"
        self._log_dir = Path(tempfile.mkdtemp(prefix=f"amss-{self.prefix}-"))
        self.children = Children(self._log_dir)
        self._pool: asyncpg.Pool | None = None
        self._redis: Redis | None = None
        self._org_id: uuid.UUID | None = None
        self._actors: list[str] = []

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None
        return self._pool

    @property
    def redis(self) -> Redis:
        assert self._redis is not None
        return self._redis

    @property
    def org_id(self) -> uuid.UUID:
        assert self._org_id is not None
        return self._org_id

    def actor(self, i: int) -> str:
        return self._actors[i % len(self._actors)]

    def child_env(self, **extra: str) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("AMSS_")}
        env.update(
            {
                "DB_URL": self.settings.db_url,
                "REDIS_URL": self.settings.effective_redis_url,
                "LOG_LEVEL": "warning",
                "APP_ENV": self.settings.app_env,
            }
        )
        env.update(extra)
        return env

    # --- set-up and clean-up ---

    async def setup(self) -> str:
        """Connect, create the bench's organization; returns the machine facts line."""
        try:
            self._pool = await create_pool(self.settings.db_url, min_size=2, max_size=self.options.pool_size)
        except (OSError, asyncpg.PostgresError) as exc:
            raise BenchError(f"cannot connect to Postgres at DB_URL: {exc}") from None
        self._redis = create_redis(self.settings.effective_redis_url)
        try:
            redis_info: Any = await self.redis.info("server")
        except (RedisError, OSError) as exc:
            raise BenchError(f"cannot reach Redis: {exc}") from None
        async with self.pool.acquire() as conn:
            try:
                self._org_id = await conn.fetchval(
                    "INSERT INTO organizations (name) VALUES ($1) RETURNING id", f"amss bench {self.prefix}"
                )
            except asyncpg.UndefinedTableError:
                raise BenchError("no organizations table: run `amss migrate up --create-database` first") from None
            postgres_version = await conn.fetchval("SHOW server_version")
            autovacuum = await conn.fetchval("SHOW autovacuum")
            synchronous_commit = await conn.fetchval("SHOW synchronous_commit")
        self._actors = [aircraft_actor(self.org_id, uuid.uuid4()) for _ in range(ACTOR_COUNT)]
        uvloop_version = getattr(uvloop, "__version__", "?")
        usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        return (
            f"machine: {os.cpu_count()} cores ({usable} usable), {platform.system()} {platform.machine()},"
            f" Python {platform.python_version()} + uvloop {uvloop_version},"
            f" PostgreSQL {postgres_version} (synchronous_commit {synchronous_commit}, autovacuum {autovacuum}),"
            f" Redis {redis_info.get('redis_version', '?')}"
        )

    async def cleanup(self) -> None:
        await self.children.stop_all()
        if self._redis is not None:
            with contextlib.suppress(RedisError, OSError):
                batch: list[bytes] = []
                async for key in self.redis.scan_iter(match=f"{self.prefix}*", count=1000):
                    batch.append(key)
                    if len(batch) >= 500:
                        await self.redis.delete(*batch)
                        batch.clear()
                if batch:
                    await self.redis.delete(*batch)
            await self.redis.aclose()
        if self._pool is not None:
            if self._org_id is not None:
                with contextlib.suppress(OSError, asyncpg.PostgresError):
                    async with self.pool.acquire() as conn:
                        await conn.execute("DELETE FROM commands WHERE org_id = $1", self._org_id)
                        await conn.execute("DELETE FROM organizations WHERE id = $1", self._org_id)
                await self.vacuum()
            await self._pool.close()
        for path in self._log_dir.glob("*.log"):
            path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self._log_dir.rmdir()

    async def vacuum(self) -> None:
        """Give each configuration the same table: the bench's updates and deletes leave dead rows, and
        a server with autovacuum off (or behind) would charge them to whichever configuration runs next."""
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            async with self.pool.acquire() as conn:
                await conn.execute("VACUUM (ANALYZE) commands")

    async def foreign_backends(self) -> set[int]:
        """Postgres backends serving other databases (someone else's load on the same server)."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname IS NOT NULL AND datname <> current_database()"
            )
        return {row["pid"] for row in rows}

    # --- measuring ---

    async def run(self) -> list[RowResult]:
        options = self.options
        configurations: list[Configuration] = [FloorRun(self), *(MeshRun(self, n) for n in options.workers)]
        tallies = [Tally() for _ in configurations]
        sequential = split_evenly(options.sequential, options.rounds)
        concurrent = split_evenly(options.concurrent, options.rounds)
        for round_index in range(options.rounds):
            for configuration, tally in zip(configurations, tallies, strict=True):
                label = f"round {round_index + 1}/{options.rounds}, {configuration.name}"
                await self.vacuum()
                progress(f"{label}: starting")
                await configuration.start()
                try:
                    await self._measure(label, configuration, tally, sequential[round_index], concurrent[round_index])
                finally:
                    await configuration.stop()
        return [
            RowResult(
                configuration.name,
                tally.sequential,
                tally.loaded,
                statistics.median(tally.throughputs),
                tally.errors,
                (*configuration.notes(), tally.cpu.describe(os.cpu_count())),
            )
            for configuration, tally in zip(configurations, tallies, strict=True)
        ]

    async def _measure(
        self, label: str, configuration: Configuration, tally: Tally, sequential: int, concurrent: int
    ) -> None:
        options = self.options
        progress(f"{label}: warm-up, {options.warmup} at {options.inflight} in flight")
        _, _, warm_failures = await run_concurrent(configuration.operation, options.warmup, options.inflight)
        if warm_failures:
            raise BenchError(f"{configuration.name}: {warm_failures} of {options.warmup} warm-up commands failed")
        await configuration.mark("warm")
        progress(f"{label}: {sequential} sequential")
        tally.sequential += await run_sequential(configuration.operation, sequential)
        await configuration.mark("sequential")
        progress(f"{label}: {concurrent} at {options.inflight} in flight")
        foreign = await self.foreign_backends()
        before = cpu_snapshot()
        loaded, elapsed, failures = await run_concurrent(configuration.operation, concurrent, options.inflight)
        after = cpu_snapshot()
        foreign |= await self.foreign_backends()
        groups = {os.getpid(): "bench", **configuration.processes()}
        tally.cpu.add(before, after, groups, concurrent - failures, foreign)
        tally.loaded += loaded
        tally.throughputs.append((concurrent - failures) / elapsed)
        tally.errors += failures
        await configuration.mark("concurrent")

    def command(self, i: int, reply_to: str) -> Command:
        return Command(
            id=uuid.uuid4(),
            org_id=self.org_id,
            actor=self.actor(i),
            type=COMMAND_TYPE,
            payload={},
            principal=record_actor(BENCH_ACTING),
            request_id=BENCH_ACTING.request_id,
            reply_to=reply_to,
        )


class FloorRun(Configuration):
    """The same durable work done bare: insert, a bare Redis round trip through the echo process, lock+update
    (the inserts and XADDs batched per loop turn, as the API does)."""

    name = "floor"

    def __init__(self, bench: MeshBench) -> None:
        self._bench = bench
        keys = KeySpace(f"{bench.prefix}-floor")
        self._stream = f"{keys.prefix}:floor:{{0}}"
        self._reply_stream = keys.reply_stream(bench.run_id)
        self._listener: ReplyListener | None = None
        self._acceptor: CommandAcceptor | None = None
        self._batcher: PipelineBatcher | None = None
        self._echo: Child | None = None
        self._recording = False
        self._steps: list[tuple[float, float, float]] = []

    async def start(self) -> None:
        bench = self._bench
        await bench.redis.xgroup_create(self._stream, ECHO_GROUP, id="0", mkstream=True)
        self._acceptor, self._batcher = CommandAcceptor(bench.pool), PipelineBatcher(bench.redis)
        self._listener = ReplyListener(bench.redis, self._reply_stream)
        self._listener.start()
        self._echo = await bench.children.spawn(
            "floor-echo", [sys.executable, "-m", "amss.bench.floor_echo", self._stream, ECHO_GROUP], bench.child_env()
        )
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not await bench.redis.exists(ready_key(self._stream)):
            if self._echo.process.returncode is not None:
                raise BenchError(
                    f"the floor echo exited with {self._echo.process.returncode}:\n{self._echo.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise BenchError("the floor echo process never started reading")
            await asyncio.sleep(0.05)

    async def operation(self, i: int) -> None:
        bench, listener, acceptor, batcher = self._bench, self._listener, self._acceptor, self._batcher
        assert listener is not None
        assert acceptor is not None
        assert batcher is not None
        command = bench.command(i, listener.stream)
        started = time.perf_counter()
        await acceptor.accept(command)
        inserted = time.perf_counter()
        future = listener.expect(command.id)
        try:
            entry = {**stream_entry(command), "reply_to": listener.stream}
            await batcher.call("XADD", self._stream, "*", *(item for pair in entry.items() for item in pair))
            result = await asyncio.wait_for(future, bench.options.wait)
        finally:
            listener.forget(command.id)
        echoed = time.perf_counter()
        async with bench.pool.acquire() as conn, conn.transaction():
            locked = await lock_command(conn, command.id)
            if locked is None or locked.outcome is not None:
                raise BenchError(f"command {command.id} vanished or was already completed")
            await complete_command(conn, command.id, result)
        if self._recording:
            self._steps.append((inserted - started, echoed - inserted, time.perf_counter() - echoed))

    async def mark(self, stage: str) -> None:
        self._recording = stage == "warm"  # the sequential stage runs between "warm" and "sequential"

    def processes(self) -> dict[int, str]:
        return {self._echo.process.pid: "echo"} if self._echo is not None else {}

    async def stop(self) -> None:
        if self._echo is not None:
            await self._bench.children.stop([self._echo])
        if self._listener is not None:
            await self._listener.stop()
        if self._acceptor is not None and self._batcher is not None:
            await self._acceptor.close()
            await self._batcher.close()
        self._echo = self._listener = None
        self._acceptor, self._batcher = None, None
        with contextlib.suppress(RedisError, OSError):
            await self._bench.redis.delete(self._stream, ready_key(self._stream))

    def notes(self) -> list[str]:
        if not self._steps:
            return []
        p50s = [ms(percentile([step[k] for step in self._steps], 50)) for k in range(3)]
        return [
            f"sequential p50 of its steps: insert {p50s[0]} ms, redis round trip {p50s[1]} ms, lock+update {p50s[2]} ms"
        ]


class MeshRun(Configuration):
    """`diag.noop` through CommandBus to `workers` real worker processes."""

    def __init__(self, bench: MeshBench, workers: int) -> None:
        self._bench = bench
        self.name = f"mesh {workers} worker" + ("s" if workers > 1 else "")
        self._workers = workers
        self._rounds = 0
        self._children: list[Child] = []
        self._ports: list[int] = []
        self._keys = KeySpace(bench.prefix)
        self._listener: ReplyListener | None = None
        self._bus: CommandBus | None = None
        self._scrapes: dict[str, dict[str, float]] = {}
        # summed over rounds: metric name -> (sum, count) per stage ("sequential", "concurrent")
        self._worker_totals: dict[str, dict[str, float]] = {"sequential": {}, "concurrent": {}}

    async def start(self) -> None:
        bench = self._bench
        self._rounds += 1
        # a fresh prefix each round: no lease, membership or epoch of the previous round's workers is left
        self._keys = KeySpace(f"{bench.prefix}-w{self._workers}r{self._rounds}")
        worker_ids = [f"{self._keys.prefix}-{i}" for i in range(self._workers)]
        self._ports = [free_port() for _ in worker_ids]
        for worker_id, port in zip(worker_ids, self._ports, strict=True):
            env = bench.child_env(
                AMSS_REDIS_PREFIX=self._keys.prefix,
                AMSS_PARTITIONS=str(bench.options.partitions),
                AMSS_DIAGNOSTIC_COMMANDS="on",
                # the redriver claims *every* stale accepted command of the database, not only the bench's:
                # keep it from running while the bench's workers are up
                AMSS_COMMAND_REDRIVE_AFTER="24h",
                WORKER_HTTP_ADDR=f"127.0.0.1:{port}",
                WORKER_ID=worker_id,
            )
            command = [sys.executable, "-m", "amss.cli", "worker"]
            self._children.append(await bench.children.spawn(worker_id, command, env))
        await self._wait_for_ownership(worker_ids)
        self._listener = ReplyListener(bench.redis, self._keys.reply_stream(bench.run_id))
        self._listener.start()
        self._bus = CommandBus(
            CommandAcceptor(bench.pool),
            bench.redis,
            self._keys,
            bench.options.partitions,
            self._listener,
            None,
            PipelineBatcher(bench.redis),
        )

    async def _wait_for_ownership(self, worker_ids: list[str]) -> None:
        """Until every partition's lease is held by its rendezvous owner among `worker_ids`."""
        partitions = range(self._bench.options.partitions)
        expected = [owner_of(p, worker_ids) for p in partitions]
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            for child in self._children:
                if child.process.returncode is not None:
                    raise BenchError(f"worker {child.name} exited with {child.process.returncode}:\n{child.log_tail()}")
            async with self._bench.redis.pipeline(transaction=False) as pipe:
                for p in partitions:
                    pipe.get(self._keys.partition_lease(p))
                values: list[Any] = await pipe.execute()
            if [value.decode().rpartition(":")[0] if value else None for value in values] == expected:
                return
            await asyncio.sleep(0.1)
        raise BenchError("the workers did not take all partitions in time")

    async def operation(self, i: int) -> None:
        bench, bus = self._bench, self._bus
        assert bus is not None
        submission = await bus.submit(bench.org_id, bench.actor(i), COMMAND_TYPE, {}, BENCH_ACTING, bench.options.wait)
        if not isinstance(submission.outcome, Succeeded):
            raise BenchError(f"command {submission.command_id} got {submission.outcome!r}")

    async def mark(self, stage: str) -> None:
        self._scrapes[stage] = await scrape_mesh_metrics(self._ports)
        previous = {"sequential": "warm", "concurrent": "sequential"}.get(stage)
        if previous is None:
            return
        totals = self._worker_totals[stage]
        for name, value in self._scrapes[stage].items():
            totals[name] = totals.get(name, 0.0) + value - self._scrapes.get(previous, {}).get(name, 0.0)

    def processes(self) -> dict[int, str]:
        return {child.process.pid: "workers" for child in self._children}

    async def stop(self) -> None:
        if self._bus is not None:
            await self._bus.close()
        if self._listener is not None:
            await self._listener.stop()
        await self._bench.children.stop(self._children)
        self._children, self._bus, self._listener, self._scrapes = [], None, None, {}

    def notes(self) -> list[str]:
        return [
            f"in the workers, {label}: {_worker_means(self._worker_totals[stage])}"
            for label, stage in (("sequential", "sequential"), ("@inflight", "concurrent"))
        ]


async def scrape_mesh_metrics(ports: Sequence[int]) -> dict[str, float]:
    """Sums over the workers of the mesh histograms' _sum and _count (seconds, commands)."""
    totals: dict[str, float] = {}
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for port in ports:
            try:
                async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
                    text = await response.text()
            except (aiohttp.ClientError, TimeoutError):
                continue
            for family in text_string_to_metric_families(text):
                if family.name not in ("command_queue_wait_seconds", "command_execution_seconds"):
                    continue
                for sample in family.samples:
                    if sample.name.endswith(("_sum", "_count")):
                        totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
    return totals


def _worker_means(totals: Mapping[str, float]) -> str:
    def mean(metric: str) -> str:
        count = totals.get(f"{metric}_count", 0.0)
        return ms(totals.get(f"{metric}_sum", 0.0) / count) if count > 0 else "-"

    return (
        f"mean queue wait {mean('command_queue_wait_seconds')} ms (entry-id clock: +0.5 ms bias),"
        f" mean execution {mean('command_execution_seconds')} ms (lock, handler, result update, commit)"
    )


# --- entry point ----------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--sequential", type=int, default=2000, help="commands submitted one at a time (p50/p99)")
    parser.add_argument("--concurrent", type=int, default=10000, help="commands for the throughput phase")
    parser.add_argument("--inflight", type=int, default=64, help="commands in flight in the throughput phase")
    parser.add_argument("--partitions", type=int, default=None, help="AMSS_PARTITIONS for the workers")
    parser.add_argument("--workers", default="1,2", help="worker process counts to measure, e.g. 1,2")
    parser.add_argument("--warmup", type=int, default=500, help="commands before measuring, each time a row starts")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds interleaving the rows; the counts above are split over them"
    )
    parser.add_argument("--pool", type=int, default=None, help="the bench process's Postgres pool (DB_POOL_MAX)")


def options_from(args: argparse.Namespace, settings: Settings) -> BenchOptions:
    try:
        workers = parse_worker_counts(args.workers)
    except ValueError as exc:
        raise BenchError(f"--workers: {exc}") from None
    for flag in ("sequential", "concurrent", "inflight", "warmup", "rounds"):
        if getattr(args, flag) < 1:
            raise BenchError(f"--{flag}: expected a positive number")
    if args.rounds > min(args.sequential, args.concurrent):
        raise BenchError("--rounds: expected at most --sequential and --concurrent")
    partitions = args.partitions if args.partitions is not None else settings.amss_partitions
    if not 1 <= partitions <= 1024:
        raise BenchError("--partitions: expected 1..1024")
    pool_size = args.pool if args.pool is not None else settings.db_pool_max
    if pool_size < 1:
        raise BenchError("--pool: expected a positive number")
    return BenchOptions(
        sequential=args.sequential,
        concurrent=args.concurrent,
        inflight=args.inflight,
        partitions=partitions,
        workers=workers,
        warmup=args.warmup,
        rounds=args.rounds,
        pool_size=pool_size,
        wait=settings.amss_command_wait.total_seconds() or 5.0,
    )


async def bench_mesh(settings: Settings, args: argparse.Namespace) -> None:
    """`amss bench mesh`: measure, print the report; on Ctrl-C/SIGTERM stop everything and exit 130."""
    if settings.is_production:
        raise BenchError("refused when APP_ENV=production (the bench needs diagnostic commands)")
    options = options_from(args, settings)
    bench = MeshBench(settings, options)
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    signals = 0

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        if signals == 1:
            progress("interrupted; stopping the bench's processes and removing its data")
            task.cancel()
        else:
            bench.children.kill()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal)
    report: str | None = None
    try:
        machine = await bench.setup()
        progress(f"redis prefix {bench.prefix}, {options.partitions} partitions, workers {options.workers}")
        rows = await bench.run()
        header = [
            f"amss bench mesh: {COMMAND_TYPE}, {options.partitions} partitions, {ACTOR_COUNT} actors;"
            f" {options.sequential} sequential and {options.concurrent} at {options.inflight} in flight per row,"
            f" over {options.rounds} interleaved round(s), each after {options.warmup} warm-up;"
            " latencies pooled, throughput the median round",
            f"bench process: one Postgres pool of {options.pool_size}; workers: DB_POOL_MAX {settings.db_pool_max},"
            f" AMSS_WORKER_CONCURRENCY {settings.amss_worker_concurrency};"
            " the floor's echo answers each read batch in one pipeline",
        ]
        report = format_report(rows, options.inflight, header, machine)
    except asyncio.CancelledError:
        if signals == 0:
            raise
        task.uncancel()
    finally:
        await bench.cleanup()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    if report is None:
        raise SystemExit(130)
    print(report, flush=True)


def run(settings: Settings, args: argparse.Namespace) -> None:
    run_bench("mesh", bench_mesh(settings, args))
