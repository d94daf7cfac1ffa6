"""Command-mesh test support: worker processes, an in-process worker, a submitting client, load, and probe-log checks.

Every mesh test runs on a key space of its own (`mesh_prefix()`), so tests never share streams,
leases or membership, and short timings (3 s leases, 0.5 s heartbeats, 2 s redrive) keep them fast.
`diag.record` writes one `command_probe_log` row per execution: order, overlap and exactly-once
are SQL questions about those rows.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import redis.asyncio as redis
from aiohttp import web
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from amss.actors.bus import CommandBus
from amss.actors.metrics import MeshMetrics
from amss.actors.node import MeshConfig, MeshWorker
from amss.actors.partitioning import aircraft_actor, partitions_of
from amss.actors.replies import ReplyListener
from amss.api.rest.handlers.commands import submit_command
from amss.api.rest.outcomes import HttpResult, render_outcome
from amss.app.commands.bus import Submission
from amss.bench.diagnostics import DIAGNOSTIC_HANDLERS
from amss.domain.principal import Actor
from amss.infra.postgres.command_acceptance import CommandAcceptor
from amss.infra.postgres.command_log import PgCommandLog
from amss.infra.postgres.commands_repo import get_command
from amss.infra.postgres.pool import create_pool
from amss.infra.redis.batching import PipelineBatcher
from amss.infra.redis.client import create_redis
from amss.infra.redis.keys import COMMAND_GROUP, KeySpace
from tests.cli_helpers import cli_env, free_port

PARTITIONS = 8
LEASE_TTL = 3.0
HEARTBEAT_INTERVAL = 0.5
COMMAND_TIMEOUT = 2.0
REDRIVE_AFTER = 2.0


def mesh_prefix() -> str:
    return f"mesh-{uuid.uuid4().hex[:8]}"


def new_actors(org_id: uuid.UUID, count: int) -> list[str]:
    return [aircraft_actor(org_id, uuid.uuid4()) for _ in range(count)]


def balanced_worker_ids(count: int, partitions: int = PARTITIONS) -> list[str]:
    """Worker ids such that every prefix of the list gives each of its workers at least one partition.

    Rendezvous hashing over random ids can leave a worker with no partition (for 3 workers over 8
    partitions, about 4% of the time); tests that need each worker busy choose ids that are.
    """
    for _ in range(10_000):
        ids = [f"w{n}-{uuid.uuid4().hex[:6]}" for n in range(count)]
        if all(partitions_of(worker, ids[:size], partitions) for size in range(1, count + 1) for worker in ids[:size]):
            return ids
    raise AssertionError("no balanced worker ids found")


async def wait_until(check: Callable[[], Awaitable[bool]], what: str, within: float = 30.0, step: float = 0.1) -> None:
    """Poll `check` until it holds; fail naming `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:.0f}s waiting for {what}")
        await asyncio.sleep(step)


async def _async(value: bool) -> bool:
    return value


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


_SPAWNED: list[subprocess.Popen[bytes]] = []


def spawn(args: list[str], log_path: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start a process whose stdout and stderr go to `log_path` (appended)."""
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(args, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    _SPAWNED.append(process)
    return process


@atexit.register
def _kill_leftovers() -> None:
    """A last resort for a test interrupted past its own clean-up (a pytest-timeout, ^C): kill what it started."""
    for process in _SPAWNED:
        if process.poll() is None:
            process.kill()
            process.wait()


async def drop_key_space(client: redis.Redis, keys: KeySpace) -> None:
    async for key in client.scan_iter(match=keys.pattern, count=500):
        await client.delete(key)


# --- worker processes ----------------------------------------------------------------------------


def worker_env(
    database_url: str, redis_url: str, prefix: str, worker_id: str, port: int, **extra: str
) -> dict[str, str]:
    return cli_env(
        database_url,
        redis_url,
        AMSS_REDIS_PREFIX=prefix,
        AMSS_DIAGNOSTIC_COMMANDS="on",
        AMSS_PARTITIONS=str(PARTITIONS),
        AMSS_LEASE_TTL=f"{LEASE_TTL:g}s",
        AMSS_HEARTBEAT_INTERVAL=f"{HEARTBEAT_INTERVAL:g}s",
        AMSS_COMMAND_TIMEOUT=f"{COMMAND_TIMEOUT:g}s",
        AMSS_COMMAND_REDRIVE_AFTER=f"{REDRIVE_AFTER:g}s",
        WORKER_ID=worker_id,
        WORKER_HTTP_ADDR=f"127.0.0.1:{port}",
        DB_POOL_MIN="1",
        DB_POOL_MAX="10",
        LOG_LEVEL="info",
        APP_ENV="test",
        **extra,
    )


@dataclass
class WorkerProcess:
    worker_id: str
    port: int
    log_path: Path
    popen: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def send(self, signum: signal.Signals) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signum)

    async def wait_exit(self, within: float) -> int:
        await wait_until(lambda: _async(self.popen.poll() is not None), f"{self.worker_id} to exit", within)
        return self.popen.returncode

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    async def metrics(self) -> dict[str, float]:
        """The worker's unlabelled samples (`owned_partitions`, `command_queue_wait_seconds_count`, …)."""
        async with aiohttp.ClientSession() as session, session.get(f"{self.url}/metrics") as response:
            text = await response.text()
        samples: dict[str, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if not sample.labels:
                    samples[sample.name] = sample.value
        return samples

    async def owned_partitions(self) -> int:
        return int((await self.metrics()).get("owned_partitions", 0))


async def _healthy(worker: WorkerProcess) -> bool:
    if worker.returncode is not None:
        raise AssertionError(f"{worker.worker_id} exited early with {worker.returncode}:\n{worker.tail()}")
    try:
        async with aiohttp.ClientSession() as session, session.get(f"{worker.url}/health") as response:
            return response.status == 200
    except aiohttp.ClientError:
        return False


class WorkerFleet:
    """The amss-worker processes of one test; `worker_fleet()` stops (or kills) every one of them."""

    def __init__(self, tmp_path: Path, database_url: str, redis_url: str, prefix: str) -> None:
        self.tmp_path = tmp_path
        self.database_url = database_url
        self.redis_url = redis_url
        self.prefix = prefix
        self.workers: list[WorkerProcess] = []

    async def start(self, worker_id: str | None = None, **extra_env: str) -> WorkerProcess:
        worker_id = worker_id or f"w{len(self.workers)}-{uuid.uuid4().hex[:6]}"
        port = free_port()
        env = worker_env(self.database_url, self.redis_url, self.prefix, worker_id, port, **extra_env)
        log_path = self.tmp_path / f"{worker_id}.log"
        popen = spawn([sys.executable, "-m", "amss.cli", "worker"], log_path, env)
        worker = WorkerProcess(worker_id, port, log_path, popen)
        self.workers.append(worker)
        await wait_until(lambda: _healthy(worker), f"{worker_id} /health", within=30)
        return worker

    async def close(self) -> None:
        running = [worker for worker in self.workers if worker.returncode is None]
        for worker in running:
            worker.send(signal.SIGTERM)
        with contextlib.suppress(AssertionError):
            await wait_until(lambda: _async(all(w.returncode is not None for w in running)), "workers to stop", 8)
        for worker in running:
            if worker.returncode is None:
                worker.popen.kill()
        for worker in running:
            await worker.wait_exit(within=10)

    def print_tails(self) -> None:
        for worker in self.workers:
            print(f"----- {worker.worker_id} (exit {worker.returncode}) log tail -----")
            print(worker.tail())


@contextlib.asynccontextmanager
async def worker_fleet(tmp_path: Path, database_url: str, redis_url: str, prefix: str) -> AsyncIterator[WorkerFleet]:
    fleet = WorkerFleet(tmp_path, database_url, redis_url, prefix)
    try:
        yield fleet
    except BaseException:
        fleet.print_tails()
        raise
    finally:
        await fleet.close()


async def pending_commands(client: redis.Redis, keys: KeySpace, partition: int) -> set[uuid.UUID]:
    """Commands of the partition delivered to its consumer but not yet acknowledged."""
    stream = keys.command_stream(partition)
    try:
        pending: Any = await client.xpending_range(stream, COMMAND_GROUP, min="-", max="+", count=10_000)
    except redis.ResponseError:  # no stream or no group yet
        return set()
    commands: set[uuid.UUID] = set()
    for item in pending:
        entries: Any = await client.xrange(stream, min=item["message_id"], max=item["message_id"])
        for _, fields in entries:
            commands.add(uuid.UUID(text(fields[b"id"])))
    return commands


async def lease_holders(client: redis.Redis, keys: KeySpace, partitions: int = PARTITIONS) -> list[str | None]:
    """Per partition, the worker id holding its lease (value "worker_id:epoch"), or None."""
    values = [await client.get(keys.partition_lease(partition)) for partition in range(partitions)]
    return [text(value).rsplit(":", 1)[0] if value else None for value in values]


# --- the test process's own connections ----------------------------------------------------------


@dataclass
class MeshBackends:
    pool: asyncpg.Pool
    redis: redis.Redis
    keys: KeySpace

    def client(self) -> MeshClient:
        return MeshClient(self.pool, self.redis, self.keys)


@contextlib.asynccontextmanager
async def mesh_backends(database_url: str, redis_url: str, prefix: str | None = None) -> AsyncIterator[MeshBackends]:
    """A pool and a Redis client for the test process, on a fresh key space that is deleted afterwards."""
    keys = KeySpace(prefix or mesh_prefix())
    pool = await create_pool(database_url, min_size=1, max_size=8)
    client = create_redis(redis_url)
    try:
        yield MeshBackends(pool, client, keys)
    finally:
        with contextlib.suppress(redis.RedisError, OSError):
            await drop_key_space(client, keys)
        await client.aclose()
        await pool.close()


# --- a private Redis, for fault tests ------------------------------------------------------------

REDIS_WITHOUT_PERSISTENCE = ("--save", "", "--appendonly", "no", "--daemonize", "no")


class PrivateRedis:
    """A redis-server of the test's own on a free port, without persistence: a restart loses everything."""

    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.log_path = tmp_path / f"redis-{self.port}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.popen = spawn(
            [*("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"), *REDIS_WITHOUT_PERSISTENCE],
            self.log_path,
        )
        await wait_until(self._answers, f"redis-server on port {self.port}", within=15)

    async def _answers(self) -> bool:
        if self.popen is not None and self.popen.poll() is not None:
            raise AssertionError(f"redis-server exited with {self.popen.returncode}: {self.log_path.read_text()}")
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        try:
            return bool(await client.ping())
        except (redis.RedisError, OSError):
            return False
        finally:
            await client.aclose()

    async def kill(self) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            self.popen.kill()
        popen = self.popen
        await wait_until(lambda: _async(popen.poll() is not None), "redis-server to die", within=10)
        self.popen = None

    async def restart(self) -> None:
        await self.kill()
        await self.start()


@contextlib.asynccontextmanager
async def private_redis(tmp_path: Path) -> AsyncIterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    try:
        await server.start()
        yield server
    finally:
        await server.kill()


# --- an in-process worker ------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def mesh_worker(
    database_url: str, redis_url: str, keys: KeySpace, *, partitions: int = PARTITIONS, max_deliveries: int = 5
) -> AsyncIterator[MeshWorker]:
    """A MeshWorker in this process with the diagnostic handlers, owning every partition before it is yielded."""
    config = MeshConfig(
        worker_id=f"inproc-{uuid.uuid4().hex[:6]}",
        partitions=partitions,
        concurrency=32,
        lease_ttl=LEASE_TTL,
        heartbeat_interval=HEARTBEAT_INTERVAL,
        command_timeout=COMMAND_TIMEOUT,
        max_deliveries=max_deliveries,
        redrive_after=REDRIVE_AFTER,
    )
    pool = await create_pool(database_url, min_size=1, max_size=12)
    client = create_redis(redis_url)
    worker = MeshWorker(
        config,
        PgCommandLog(pool),
        client,
        keys,
        DIAGNOSTIC_HANDLERS,
        MeshMetrics.register(CollectorRegistry()),
        PipelineBatcher(client),
    )
    try:
        await worker.start()

        async def owns_all() -> bool:
            return len(worker.owned_partitions) == partitions

        await wait_until(owns_all, "the in-process worker to own every partition", within=15)
        yield worker
    finally:
        await worker.stop()
        await client.aclose()
        await pool.close()


# --- submitting ----------------------------------------------------------------------------------


async def submit_diagnostic(request: web.Request) -> web.Response:
    """A test-only route (`/test/diag/{org_id}/{aircraft_id}`): `diag.record` through the command endpoints' path."""
    org_id = uuid.UUID(request.match_info["org_id"])
    actor = aircraft_actor(org_id, uuid.UUID(request.match_info["aircraft_id"]))
    return await submit_command(request, org_id, actor, "diag.record", await request.json())


class MeshClient:
    """The submitting side: a CommandBus with its own reply stream, as an API process has."""

    def __init__(self, pool: asyncpg.Pool, client: redis.Redis, keys: KeySpace, partitions: int = PARTITIONS) -> None:
        self.listener = ReplyListener(client, keys.reply_stream(f"test-{uuid.uuid4().hex}"))
        self.bus = CommandBus(
            CommandAcceptor(pool), client, keys, partitions, self.listener, None, PipelineBatcher(client)
        )

    async def __aenter__(self) -> MeshClient:
        self.listener.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.bus.close()
        await self.listener.stop()

    async def submit(
        self, org_id: uuid.UUID, actor: str, command_type: str, payload: dict[str, Any], wait: float = 0.0
    ) -> Submission:
        return await self.bus.submit(org_id, actor, command_type, payload, Actor.for_job("test"), wait)

    async def record(self, org_id: uuid.UUID, actor: str, seq: int, sleep_ms: int = 0, wait: float = 0.0) -> Submission:
        return await self.submit(org_id, actor, "diag.record", {"seq": seq, "sleep_ms": sleep_ms}, wait)


@dataclass
class Load:
    """Submits `diag.record` round-robin over its actors, each actor's seq counting up from 0.

    One task submits all of an actor's commands, each XADD awaited before the next, so the
    stream order of an actor's commands is its submission order.
    """

    client: MeshClient
    org_id: uuid.UUID
    actors: Sequence[str]
    submitted: dict[str, list[int]] = field(default_factory=dict)

    @property
    def count(self) -> int:
        return sum(len(seqs) for seqs in self.submitted.values())

    async def send(self, actor: str, sleep_ms: int = 0) -> Submission:
        """Submit the actor's next command (its seq is the number it was given before)."""
        seqs = self.submitted.setdefault(actor, [])
        submission = await self.client.record(self.org_id, actor, len(seqs), sleep_ms)
        seqs.append(len(seqs))
        return submission

    async def round(self, sleep_ms: int = 0) -> None:
        for actor in self.actors:
            await self.send(actor, sleep_ms)

    async def run(self, rounds: int, pause: float = 0.0, sleep_ms: int = 0) -> None:
        for _ in range(rounds):
            await self.round(sleep_ms)
            await asyncio.sleep(pause)

    async def run_until(self, stop: asyncio.Event, pause: float, sleep_ms: int = 0, max_rounds: int = 1000) -> None:
        for _ in range(max_rounds):
            if stop.is_set():
                return
            await self.round(sleep_ms)
            await asyncio.sleep(pause)

    async def wait_for(self, count: int, within: float = 30.0) -> None:
        await wait_until(lambda: _async(self.count >= count), f"{count} submitted commands", within)


# --- what the database shows ---------------------------------------------------------------------


async def status_counts(conn: asyncpg.Connection, org_id: uuid.UUID) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT status::text AS status, count(*) AS n FROM commands WHERE org_id = $1 GROUP BY status", org_id
    )
    return {row["status"]: row["n"] for row in rows}


async def wait_all_terminal(
    conn: asyncpg.Connection, org_id: uuid.UUID, expected: int, within: float = 60.0
) -> dict[str, int]:
    """Wait until the organization has `expected` commands and none is still `accepted`."""

    async def terminal() -> bool:
        counts = await status_counts(conn, org_id)
        return sum(counts.values()) == expected and counts.get("accepted", 0) == 0

    try:
        await wait_until(terminal, f"all {expected} commands to be terminal", within, step=0.2)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; statuses now {await status_counts(conn, org_id)}") from None
    return await status_counts(conn, org_id)


async def probe_rows(conn: asyncpg.Connection, org_id: uuid.UUID) -> list[asyncpg.Record]:
    """The organization's probe rows, per actor in execution order (started_at)."""
    return await conn.fetch(
        "SELECT command_id, actor, seq, worker_id, started_at, finished_at FROM command_probe_log"
        " WHERE actor LIKE $1 ORDER BY actor, started_at",
        f"aircraft:{org_id}:%",
    )


def sequences_by_actor(rows: Sequence[asyncpg.Record]) -> dict[str, list[int]]:
    sequences: dict[str, list[int]] = defaultdict(list)
    for row in rows:
        sequences[row["actor"]].append(row["seq"])
    return dict(sequences)


def assert_actor_order(rows: Sequence[asyncpg.Record], submitted: Mapping[str, Sequence[int]]) -> None:
    """Each actor's commands ran in submission order, each exactly once."""
    executed = sequences_by_actor(rows)
    wrong = {
        actor: _first_difference(executed.get(actor, []), list(seqs))
        for actor, seqs in submitted.items()
        if executed.get(actor, []) != list(seqs)
    }
    assert not wrong, f"{len(wrong)} actor(s) ran out of submission order: {dict(list(wrong.items())[:3])}"


def _first_difference(executed: list[int], submitted: list[int]) -> str:
    for index, (ran, sent) in enumerate(zip(executed, submitted, strict=False)):
        if ran != sent:
            return f"at #{index}: ran seq {executed[max(0, index - 2) : index + 3]}, submitted {sent}"
    return f"ran {len(executed)} commands, submitted {len(submitted)}"


async def assert_exactly_once(conn: asyncpg.Connection, org_id: uuid.UUID, expected: int) -> None:
    """Every command of the organization succeeded and left exactly one probe row; no row lacks a command."""
    counts = await status_counts(conn, org_id)
    assert counts == {"succeeded": expected}, counts
    missing = await conn.fetchval(
        "SELECT count(*) FROM commands c WHERE c.org_id = $1"
        " AND NOT EXISTS (SELECT 1 FROM command_probe_log p WHERE p.command_id = c.id)",
        org_id,
    )
    probes = await conn.fetchval("SELECT count(*) FROM command_probe_log WHERE actor LIKE $1", f"aircraft:{org_id}:%")
    assert (missing, probes) == (0, expected), f"{missing} command(s) without a probe row; {probes} probe rows"


def answer(submission: Submission) -> HttpResult | None:
    """A submission's outcome as REST answers it (status, body, headers); None while it is pending."""
    if submission.outcome is None:
        return None
    return render_outcome(submission.command.type, submission.outcome, submission.command.request_id)


def answered(submission: Submission) -> HttpResult:
    """The outcome as REST answers it, of a submission that must have one."""
    result = answer(submission)
    assert result is not None, f"command {submission.command_id} has no outcome yet"
    return result


async def command_result(conn: asyncpg.Connection, command_id: uuid.UUID) -> dict[str, Any] | None:
    """A command row as it used to be stored: its columns, and its outcome rendered as REST answers it

    (`result_status`, `body`: the status and body text, None while accepted or for no body)."""
    row = await conn.fetchrow(
        "SELECT org_id, status::text AS status, error, delivery_count, completed_at FROM commands WHERE id = $1",
        command_id,
    )
    if row is None:
        return None
    stored = await get_command(conn, row["org_id"], command_id)
    assert stored is not None
    rendered = render_outcome(stored.type, stored.outcome, stored.request_id) if stored.outcome else None
    return {
        **dict(row),
        "result_status": rendered.status_code if rendered else None,
        "body": rendered.body.decode() if rendered and rendered.body else None,
    }
