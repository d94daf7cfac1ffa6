"""`amss bench import`: a 100,000-row parts file from upload to `completed`, against the bare asyncpg floor.

In a throwaway database (created, migrated, dropped at the end) and a private Redis prefix, the bench
starts `amss server` and one `amss worker` (mesh on), uploads a parts CSV with about 10% invalid rows,
and follows `GET /imports/{id}` to time validation (upload answered -> `applying`) and apply
(`applying` -> `completed`). Meanwhile it samples the worker's resident memory (/proc) and times
`GET /aircraft` one request after another, beside the same requests while idle (the import's progress
is polled every `--poll` seconds, 1 by default: each poll counts the import's rows). The floor writes the
same valid rows bare: per batch of 1,000, one `executemany` of the item upsert and one of its audit row,
in one transaction. Afterwards every valid row must be one part item with one audit row naming the import.
With AMSS_BENCH_PROFILE_WORKER=PATH set, the worker runs under cProfile and writes its profile to PATH on exit.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import asyncpg
from redis.exceptions import RedisError

from amss.auth.keys import generate_key_pair
from amss.auth.tokens import TokenService
from amss.bench.common import BenchError, Children, free_port, ms, percentile, progress, ratio, run_bench, verdict
from amss.config import Settings
from amss.domain.enums import Role
from amss.infra.postgres.database import drop_database, ensure_database
from amss.infra.postgres.migrations import Migrator, load_migrations
from amss.infra.postgres.pool import create_pool
from amss.infra.redis.client import create_redis

APPLY_TARGET: Final = 0.30  # apply rows/s as a share of the floor's
RSS_TARGET_MIB: Final = 200.0
FLOOR_BATCH: Final = 1000
INVALID_EVERY: Final = 10
PART_NAMES: Final = 25
READY_TIMEOUT: Final = 60.0


def parts_file(rows: int, run: str) -> tuple[bytes, int]:
    """The CSV and how many of its rows are valid: every 10th row is bad (alternately an unknown status and a
    malformed expiry), the rest new items of 25 part names with an expiry in 2030."""
    lines = ["part_name,category,serial_number,status,expiry_date"]
    valid = 0
    for number in range(1, rows + 1):
        name = f"part-{number % PART_NAMES}"
        status, expiry = "", "2030-06-01T00:00:00Z"
        if number % INVALID_EVERY == 0:
            if number % (2 * INVALID_EVERY) == 0:
                status = "misplaced"
            else:
                expiry = "next spring"
        else:
            valid += 1
        lines.append(f"{name},bench,{run}-{number},{status},{expiry}")
    return ("\r\n".join(lines) + "\r\n").encode(), valid


@dataclasses.dataclass
class ImportRun:
    upload_seconds: float = 0.0
    validate_seconds: float = 0.0
    apply_seconds: float = 0.0
    total_seconds: float = 0.0
    rss_before_mib: float = 0.0
    rss_peak_mib: float = 0.0
    busy_latencies: list[float] = dataclasses.field(default_factory=list)
    summary: dict[str, int] = dataclasses.field(default_factory=dict)


def rss_mib(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


class ImportBench:
    def __init__(self, settings: Settings, args: argparse.Namespace) -> None:
        self.settings, self.args = settings, args
        self.run_id = secrets.token_hex(4)
        self.prefix = f"bench-import-{self.run_id}"
        parts = urlsplit(settings.db_url)
        self.db_url = urlunsplit(parts._replace(path=f"/amss_bench_{self.run_id}"))
        self.log_dir = Path(tempfile.mkdtemp(prefix=f"amss-{self.prefix}-"))
        self.children = Children(self.log_dir)
        self.keys = generate_key_pair()
        self.org_id = self.user_id = self.floor_org = uuid.uuid4()

    async def setup(self) -> None:
        await ensure_database(self.db_url)
        conn = await asyncpg.connect(self.db_url)
        try:
            async with Migrator(conn, load_migrations()) as migrator:
                await migrator.up()
            self.org_id = await conn.fetchval("INSERT INTO organizations (name) VALUES ('bench') RETURNING id")
            self.floor_org = await conn.fetchval("INSERT INTO organizations (name) VALUES ('floor') RETURNING id")
            await conn.execute(
                "INSERT INTO org_policies (org_id, api_rate_limit_per_min) VALUES ($1, 1000000)", self.org_id
            )
            self.user_id = await conn.fetchval(
                "INSERT INTO users (org_id, email, role, password_hash) VALUES ($1, 'bench@example.com', $2, 'x')"
                " RETURNING id",
                self.org_id,
                Role.SCHEDULER.value,
            )
            await conn.execute(
                "INSERT INTO aircraft (org_id, tail_number, model) SELECT $1, 'B-' || n, 'A320'"
                " FROM generate_series(1, 50) AS n",
                self.org_id,
            )
        finally:
            await conn.close()

    async def floor(self, rows: int) -> float:
        """Rows/s of the bare writes: the valid rows' item upserts and audit rows, 1,000 per transaction."""
        pool = await create_pool(self.db_url, min_size=1, max_size=2)
        try:
            async with pool.acquire() as conn:
                definition = await conn.fetchval(
                    "INSERT INTO part_definitions (org_id, name, category) VALUES ($1, 'floor-part', 'bench')"
                    " RETURNING id",
                    self.floor_org,
                )
                expiry = datetime(2030, 6, 1, tzinfo=UTC)
                numbers = [n for n in range(1, rows + 1) if n % INVALID_EVERY]
                started = time.perf_counter()
                for start in range(0, len(numbers), FLOOR_BATCH):
                    batch = [(uuid.uuid4(), f"F-{n}") for n in numbers[start : start + FLOOR_BATCH]]
                    async with conn.transaction():
                        await conn.executemany(
                            "INSERT INTO part_items (id, org_id, part_definition_id, serial_number, expiry_date)"
                            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (org_id, serial_number)"
                            " WHERE deleted_at IS NULL DO UPDATE SET expiry_date = EXCLUDED.expiry_date,"
                            " version = part_items.version + 1",
                            [(item_id, self.floor_org, definition, serial, expiry) for item_id, serial in batch],
                        )
                        await conn.executemany(
                            "INSERT INTO audit_logs (org_id, entity_type, entity_id, action, entity_version, details)"
                            " VALUES ($1, 'part_item', $2, 'create', 1, $3::jsonb)",
                            [
                                (self.floor_org, item_id, {"serial_number": serial, "import": {"row_number": 1}})
                                for item_id, serial in batch
                            ],
                        )
                return len(numbers) / (time.perf_counter() - started)
        finally:
            await pool.close()

    async def run_import(self) -> ImportRun:
        args = self.args
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AMSS_", "JWT_"))}
        env.update(
            DB_URL=self.db_url,
            REDIS_URL=self.settings.effective_redis_url,
            LOG_LEVEL="warning",
            APP_ENV="test",
            BCRYPT_ROUNDS="4",
            JWT_PRIVATE_KEY_PEM=self.keys.private_pem,
            JWT_PUBLIC_KEY_PEM=self.keys.public_pem,
            AMSS_REDIS_PREFIX=self.prefix,
            HTTP_ADDR=f"127.0.0.1:{port}",
            MAX_UPLOAD_BYTES=str(256 << 20),
            AMSS_IMPORT_BATCH_ROWS=str(args.batch_rows),
            AMSS_IMPORT_ROW_CONCURRENCY=str(args.row_concurrency),
        )
        cli = [sys.executable, "-m", "amss.cli"]
        server = await self.children.spawn("server", [*cli, "server"], env)
        worker_env = {**env, "WORKER_HTTP_ADDR": f"127.0.0.1:{free_port()}", "WORKER_ID": f"{self.prefix}-w"}
        profiled = os.environ.get("AMSS_BENCH_PROFILE_WORKER")  # a cProfile output path (see the docstring)
        worker_cli = [sys.executable, "-m", "cProfile", "-o", profiled, "-m", "amss.cli"] if profiled else cli
        worker = await self.children.spawn("worker", [*worker_cli, "worker"], worker_env)
        tokens = TokenService(self.keys, self.settings.jwt_issuer, timedelta(hours=2))
        token = tokens.issue_access(self.user_id, self.org_id, Role.SCHEDULER, datetime.now(UTC)).token
        auth = {"Authorization": f"Bearer {token}"}
        base = f"http://127.0.0.1:{port}"
        content, _ = parts_file(args.rows, self.run_id)
        result = ImportRun()
        async with aiohttp.ClientSession(headers=auth) as session:
            await self._wait_ready(session, base)
            await asyncio.sleep(2)  # the worker's partitions and consumer group
            idle = await self._get_aircraft(session, base, args.idle_requests)
            result.rss_before_mib = rss_mib(worker.process.pid)
            result.rss_peak_mib = result.rss_before_mib
            form = aiohttp.FormData()
            form.add_field("type", "parts")
            form.add_field("file", content, filename="parts.csv", content_type="text/csv")
            progress(f"import: uploading {args.rows} rows ({len(content) / 1e6:.1f} MB)")
            started = time.perf_counter()
            async with session.post(f"{base}/api/v1/imports/csv", data=form) as response:
                body = await response.json()
                if response.status != 202:
                    raise BenchError(f"upload answered {response.status}: {body}")
            uploaded = time.perf_counter()
            result.upload_seconds = uploaded - started
            import_id = body["import_id"]
            stop = asyncio.Event()
            busy = asyncio.create_task(self._get_aircraft_until(session, base, stop, result.busy_latencies))
            applying_at: float | None = None
            while True:
                result.rss_peak_mib = max(result.rss_peak_mib, rss_mib(worker.process.pid))
                for child in (server, worker):
                    if child.process.returncode is not None:
                        raise BenchError(f"{child.name} exited with {child.process.returncode}:\n{child.log_tail()}")
                async with session.get(f"{base}/api/v1/imports/{import_id}") as response:
                    state = await response.json()
                now = time.perf_counter()
                if applying_at is None and state["status"] in ("applying", "completed"):
                    applying_at = now
                if state["status"] in ("completed", "failed"):
                    break
                if now - started > args.timeout:
                    raise BenchError(f"the import did not finish within {args.timeout} s: {state}")
                await asyncio.sleep(args.poll)
            finished = time.perf_counter()
            stop.set()
            await busy
            if state["status"] != "completed":
                raise BenchError(f"the import failed: {state.get('error')}")
            assert applying_at is not None
            result.validate_seconds = applying_at - uploaded
            result.apply_seconds = finished - applying_at
            result.total_seconds = finished - started
            result.summary = state["summary"]
        self.idle = idle
        await self.children.stop([server, worker])
        await self._verify(import_id, result.summary)
        return result

    async def _get_aircraft(self, session: aiohttp.ClientSession, base: str, count: int) -> list[float]:
        latencies = []
        for _ in range(count):
            started = time.perf_counter()
            async with session.get(f"{base}/api/v1/aircraft?limit=50") as response:
                await response.read()
                if response.status != 200:
                    raise BenchError(f"GET /aircraft answered {response.status}")
            latencies.append(time.perf_counter() - started)
        return latencies

    async def _get_aircraft_until(
        self, session: aiohttp.ClientSession, base: str, stop: asyncio.Event, latencies: list[float]
    ) -> None:
        while not stop.is_set():
            latencies.extend(await self._get_aircraft(session, base, 1))
            await asyncio.sleep(0.02)

    async def _wait_ready(self, session: aiohttp.ClientSession, base: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(f"{base}/health") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)
        raise BenchError("the server did not become ready in time")

    async def _verify(self, import_id: str, summary: dict[str, int]) -> None:
        conn = await asyncpg.connect(self.db_url)
        try:
            items = await conn.fetchval("SELECT count(*) FROM part_items WHERE org_id = $1", self.org_id)
            audited = await conn.fetchval(
                "SELECT count(DISTINCT (details->'import'->>'row_number')) FROM audit_logs"
                " WHERE org_id = $1 AND entity_type = 'part_item' AND details->'import'->>'import_id' = $2",
                self.org_id,
                import_id,
            )
            twice = await conn.fetchval(
                "SELECT count(*) FROM (SELECT details->'import'->>'row_number' FROM audit_logs"
                " WHERE org_id = $1 AND entity_type = 'part_item' AND details->'import'->>'import_id' = $2"
                " GROUP BY 1 HAVING count(*) > 1) AS doubled",
                self.org_id,
                import_id,
            )
        finally:
            await conn.close()
        if not items == audited == summary["applied"] or twice:
            raise BenchError(f"{items} items, {audited} audited rows ({twice} twice), summary {summary}")
        progress(f"import: verified, {items} part items, each with exactly one audit row naming its row")

    async def cleanup(self) -> None:
        await self.children.stop_all()
        with contextlib.suppress(OSError, asyncpg.PostgresError):
            await drop_database(self.db_url)
        redis = create_redis(self.settings.effective_redis_url)
        with contextlib.suppress(RedisError, OSError):
            found = [key async for key in redis.scan_iter(match=f"{self.prefix}*", count=1000)]
            if found:
                await redis.delete(*found)
        await redis.aclose()
        for path in self.log_dir.glob("*.log"):
            path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.log_dir.rmdir()


def report(run: ImportRun, floor: float, idle: list[float], args: argparse.Namespace) -> str:
    summary = run.summary
    validate_rate = summary["total"] / run.validate_seconds if run.validate_seconds > 0 else float("nan")
    apply_rate = summary["applied"] / run.apply_seconds if run.apply_seconds > 0 else float("nan")
    share = ratio(apply_rate, floor)
    growth = run.rss_peak_mib - run.rss_before_mib
    lines = [
        f"amss bench import: {args.rows} parts rows (~10% invalid), one server and one worker (mesh on,"
        f" AMSS_IMPORT_BATCH_ROWS={args.batch_rows}, AMSS_IMPORT_ROW_CONCURRENCY={args.row_concurrency});"
        " throwaway database, dropped afterwards",
        f"  summary: {summary}",
        f"  upload -> completed: {run.total_seconds:.1f} s (upload answered in {run.upload_seconds:.2f} s,"
        f" validating {run.validate_seconds:.1f} s, applying {run.apply_seconds:.1f} s)",
        f"  validate: {validate_rate:.0f} rows/s",
        f"  apply: {apply_rate:.0f} rows/s; floor (asyncpg executemany, item upsert + audit row, 1,000 a batch):"
        f" {floor:.0f} rows/s; ratio {share:.2f} (target >= {APPLY_TARGET:.2f}: {verdict(share >= APPLY_TARGET)})",
        f"  worker RSS: {run.rss_before_mib:.0f} MiB before, peak {run.rss_peak_mib:.0f} MiB, growth {growth:.0f} MiB"
        f" (target < {RSS_TARGET_MIB:.0f}: {verdict(growth < RSS_TARGET_MIB)})",
        f"  GET /aircraft p50/p99 ms: idle {ms(percentile(idle, 50))}/{ms(percentile(idle, 99))}"
        f" ({len(idle)} requests), during the import {ms(percentile(run.busy_latencies, 50))}/"
        f"{ms(percentile(run.busy_latencies, 99))} ({len(run.busy_latencies)} requests)",
        "verified: every applied row is one part item with exactly one audit row naming its import row",
    ]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the parts file")
    parser.add_argument("--idle-requests", type=int, default=300, help="GET /aircraft requests timed while idle")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds the import may take")
    parser.add_argument("--batch-rows", type=int, default=1000, help="the worker's AMSS_IMPORT_BATCH_ROWS")
    parser.add_argument(
        "--poll", type=float, default=1.0, help="seconds between GET /imports/{id} (a progress bar's refresh)"
    )
    parser.add_argument(
        "--row-concurrency",
        type=int,
        default=4,
        help="the worker's AMSS_IMPORT_ROW_CONCURRENCY (row transactions at once)",
    )


async def bench_import(settings: Settings, args: argparse.Namespace) -> None:
    if settings.is_production:
        raise BenchError("refused when APP_ENV=production")
    bench = ImportBench(settings, args)
    try:
        await bench.setup()
        progress("floor: executemany of the valid rows' upserts and audit rows")
        floor = await bench.floor(args.rows)
        result = await bench.run_import()
    finally:
        await bench.cleanup()
    print(report(result, floor, bench.idle, args), flush=True)


def run(settings: Settings, args: argparse.Namespace) -> None:
    run_bench("import", bench_import(settings, args))
