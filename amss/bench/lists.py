"""`amss bench lists`: every list's filters and sorts over HTTP at airline scale, and the audit export.

A throwaway database (created, migrated, dropped with FORCE at the end) gets an airline-sized
organization and a small one (`amss.bench.dataset`, `--scale`); `amss server` runs as a subprocess
with the mesh off (reads only). Each request is timed sequentially, page 1 and page 20, and shown
with the plan of the statement the repository issues (recorded in-process, then EXPLAINed).
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
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp
import asyncpg
import orjson
from aiohttp.test_utils import TestClient, TestServer

from amss.api.rest.routing import ROUTE_SPECS, RouteSpec
from amss.auth.keys import KeyPair, generate_key_pair
from amss.auth.tokens import TokenService
from amss.bench.common import BenchError, Children, free_port, ms, percentile, progress, run_bench, verdict
from amss.bench.dataset import Generated, Size, generate
from amss.bootstrap.server import init_server_app
from amss.config import Settings
from amss.domain.enums import Role
from amss.infra.postgres import listing
from amss.infra.postgres.database import drop_database, ensure_database
from amss.infra.postgres.migrations import Migrator, load_migrations
from amss.infra.postgres.pool import SESSION_SETTINGS

TARGET_P50: Final = 0.020
TARGET_P99: Final = 0.050
TARGET_SMALL_P50: Final = 0.010
TARGET_EXPORT: Final = 1.0
PAGE: Final = 20
READY_TIMEOUT: Final = 60.0
# extra cases: the combinations the issue measured
COMBINATIONS: Final = {
    "/api/v1/maintenance-tasks": [("aircraft_id", "state")],
    "/api/v1/compliance-items": [("result", "signed")],
}


@dataclasses.dataclass
class Case:
    org: str
    path: str
    query: dict[str, str]
    first: list[float] = dataclasses.field(default_factory=list)
    twentieth: list[float] = dataclasses.field(default_factory=list)
    plan: str = "-"

    @property
    def label(self) -> str:
        return self.path.removeprefix("/api/v1/") + ("?" + urlencode(self.query) if self.query else "")


async def _samples(conn: asyncpg.Connection, org: uuid.UUID, now: datetime) -> dict[str, str]:
    """A realistic value for each filter parameter, from the organization's own rows."""

    async def one(sql: str) -> str:
        return str(await conn.fetchval(sql, org))

    aircraft = await one("SELECT id FROM aircraft WHERE org_id = $1 ORDER BY tail_number LIMIT 1")
    month = now - timedelta(days=30)
    return {
        "aircraft_id": aircraft,
        "entity_id": aircraft,
        "entity_type": "aircraft",
        "state": "scheduled",
        "type": "repair",
        "start_from": month.isoformat(),
        "start_to": now.isoformat(),
        "from": month.isoformat(),
        "to": now.isoformat(),
        "status": "in_stock",
        "tail_number": await one("SELECT tail_number FROM aircraft WHERE org_id = $1 ORDER BY tail_number LIMIT 1"),
        "model": "B737",
        "role": "mechanic",
        "email": await one("SELECT email FROM users WHERE org_id = $1 ORDER BY email LIMIT 1"),
        "user_id": await one("SELECT id FROM users WHERE org_id = $1 AND role = 'mechanic' ORDER BY id LIMIT 1"),
        "name": await one("SELECT name FROM part_definitions WHERE org_id = $1 ORDER BY name LIMIT 1"),
        "category": "engine",
        "definition_id": await one("SELECT id FROM part_definitions WHERE org_id = $1 ORDER BY name LIMIT 1"),
        "expiry_before": (now + timedelta(days=100)).isoformat(),
        "task_id": await one("SELECT task_id FROM part_reservations WHERE org_id = $1 ORDER BY id LIMIT 1"),
        "part_item_id": await one("SELECT part_item_id FROM part_reservations WHERE org_id = $1 ORDER BY id LIMIT 1"),
        "result": "fail",
        "signed": "true",
        "interval_type": "calendar",
        "action": "create",
        "compliance_task_id": await one("SELECT task_id FROM compliance_items WHERE org_id = $1 ORDER BY id LIMIT 1"),
        "organization_name": await one("SELECT name FROM organizations WHERE id = $1"),
    }


def _value(path: str, parameter: str, samples: Mapping[str, str]) -> str:
    if path.endswith("/compliance-items") and parameter == "task_id":
        return samples["compliance_task_id"]
    if path.endswith("/organizations") and parameter == "name":
        return samples["organization_name"]
    if path.endswith("/aircraft") and parameter == "status":
        return "operational"
    if path.endswith("/part-reservations") and parameter == "state":
        return "reserved"
    return samples[parameter]


def list_cases(specs: list[RouteSpec], org: str, samples: Mapping[str, str]) -> Iterator[Case]:
    """Every sort (both directions) and every filter (with the default sort) of every list route."""
    for spec in specs:
        if org == "small" and spec.path.endswith("/organizations"):
            continue  # system-wide: the same rows whoever asks
        for sort in spec.sorts:
            for prefix in ("-", ""):
                yield Case(org, spec.path, {"sort": prefix + sort})
        fields = spec.query_model.model_fields if spec.query_model else {}
        for name, field in fields.items():
            parameter = field.alias or name
            yield Case(org, spec.path, {parameter: _value(spec.path, parameter, samples)})
        for combination in COMBINATIONS.get(spec.path, []):
            yield Case(org, spec.path, {p: _value(spec.path, p, samples) for p in combination})


def _scan(plan: Mapping[str, Any]) -> str:
    """The plan's top node and the scan under it: 'Limit > Index Scan using x'."""
    top = plan["Node Type"]
    node = plan
    while node.get("Plans") and "Scan" not in node["Node Type"]:
        node = node["Plans"][0]
    scan = node["Node Type"] + (f" using {node['Index Name']}" if "Index Name" in node else "")
    sorts = " +Sort" if "Sort" in str(plan) and '"Sort"' not in scan else ""
    return f"{top} > {scan}{sorts}" if node is not plan else scan


class ListsBench:
    def __init__(self, settings: Settings, args: argparse.Namespace) -> None:
        self.settings, self.args = settings, args
        run_id = secrets.token_hex(4)
        self.prefix = f"bench-lists-{run_id}"
        self.db_url = urlunsplit(urlsplit(settings.db_url)._replace(path=f"/amss_bench_lists_{run_id}"))
        self.log_dir = Path(tempfile.mkdtemp(prefix=f"amss-{self.prefix}-"))
        self.children = Children(self.log_dir)
        self.keys: KeyPair = generate_key_pair()
        self.generated: list[Generated] = []
        self.admins: dict[str, tuple[uuid.UUID, uuid.UUID]] = {}
        self.samples: dict[str, dict[str, str]] = {}
        self.tokens: dict[str, str] = {}

    def bench_settings(self, port: int) -> dict[str, str]:
        return {
            "DB_URL": self.db_url,
            "REDIS_URL": self.settings.effective_redis_url,
            "LOG_LEVEL": "warning",
            "APP_ENV": "test",
            "BCRYPT_ROUNDS": "4",
            "JWT_PRIVATE_KEY_PEM": self.keys.private_pem,
            "JWT_PUBLIC_KEY_PEM": self.keys.public_pem,
            "AMSS_MESH": "off",
            "AMSS_REDIS_PREFIX": self.prefix,
            "HTTP_ADDR": f"127.0.0.1:{port}",
            "GRPC_ADDR": f"127.0.0.1:{free_port()}",
        }

    async def setup(self) -> None:
        await ensure_database(self.db_url)
        conn = await asyncpg.connect(self.db_url)
        try:
            async with Migrator(conn, load_migrations()) as migrator:
                await migrator.up()
            progress(f"generating scale {self.args.scale} (set-based SQL)")
            self.generated = await generate(conn, [Size.airline(self.args.scale), Size.small()], progress)
            now: datetime = await conn.fetchval("SELECT date_trunc('hour', now())")
            for name, generated in zip(("big", "small"), self.generated, strict=True):
                user = await conn.fetchval(
                    "SELECT id FROM users WHERE org_id = $1 AND role = 'admin' ORDER BY id LIMIT 1", generated.org_id
                )
                self.admins[name] = (generated.org_id, user)
                self.samples[name] = await _samples(conn, generated.org_id, now)
        finally:
            await conn.close()

    def token(self, org: str) -> str:
        """One access token per organization for the whole run (the server verifies each token once)."""
        if org not in self.tokens:
            tokens = TokenService(self.keys, self.settings.jwt_issuer, timedelta(hours=4))
            org_id, user_id = self.admins[org]
            self.tokens[org] = tokens.issue_access(user_id, org_id, Role.ADMIN, datetime.now(UTC)).token
        return self.tokens[org]

    def app_settings(self) -> Settings:
        """The server's settings, for the in-process app that records the statements."""
        return self.settings.model_copy(
            update={
                "db_url": self.db_url,
                "amss_mesh": False,
                "amss_redis_prefix": self.prefix,
                "jwt_private_key_pem": self.keys.private_pem,
                "jwt_public_key_pem": self.keys.public_pem,
            }
        )

    async def plans(self, cases: list[Case]) -> None:
        """Each case's statement, recorded from an in-process app, EXPLAINed as the pool would plan it."""
        recorded: list[tuple[str, list[Any]]] = []
        original = listing.page_query

        def recording(*args: Any, **kwargs: Any) -> tuple[str, list[Any]]:
            sql, values = original(*args, **kwargs)
            recorded.append((sql, values))
            return sql, values

        listing.page_query = recording
        client = TestClient(TestServer(init_server_app(self.app_settings())))
        conn = await asyncpg.connect(self.db_url, server_settings=SESSION_SETTINGS)
        try:
            await client.start_server()
            for case in cases:
                recorded.clear()
                headers = {"Authorization": f"Bearer {self.token(case.org)}"}
                async with client.get(case.path, params=case.query, headers=headers) as response:
                    await response.read()
                if recorded:
                    sql, values = recorded[0]
                    document = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *values)
                    case.plan = _scan(_json(document)[0]["Plan"])
        finally:
            listing.page_query = original
            await client.close()
            await conn.close()

    async def run(self) -> tuple[list[Case], dict[str, tuple[list[float], int]]]:
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AMSS_", "JWT_"))}
        env.update(self.bench_settings(port))
        server = await self.children.spawn("server", [sys.executable, "-m", "amss.cli", "server"], env)
        specs = sorted(
            (s for s in init_server_app(self.app_settings())[ROUTE_SPECS].values() if s.method == "GET" and s.sorts),
            key=lambda s: s.path,
        )
        cases = [c for org in ("big", "small") for c in list_cases(specs, org, self.samples[org])]
        try:
            async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as session:
                await self._wait_ready(session, server)
                for number, case in enumerate(cases, start=1):
                    progress(f"[{number}/{len(cases)}] {case.org} {case.label}")
                    await self.time_case(session, case)
                exports = await self.exports(session)
        finally:
            await self.children.stop_all()
        await self.plans(cases)
        return cases, exports

    async def _get(self, session: aiohttp.ClientSession, org: str, path: str, query: dict[str, str]) -> bytes:
        headers = {"Authorization": f"Bearer {self.token(org)}"}
        async with session.get(path, params=query, headers=headers) as response:
            body = await response.read()
            if response.status != 200:
                raise BenchError(f"GET {path}?{urlencode(query)}: {response.status} {body[:300]!r}")
            return body

    async def time_case(self, session: aiohttp.ClientSession, case: Case) -> None:
        query, cursor = dict(case.query), None
        for page in range(1, PAGE + 1):
            times = case.first if page == 1 else case.twentieth if page == PAGE else None
            current = {**query, **({"cursor": cursor} if cursor else {})}
            warm = False
            # a timed page is asked for once first, untimed: its plan, index pages and rows are warm
            for _ in range(self.args.requests + 1 if times is not None else 1):
                started = time.perf_counter()
                body = await self._get(session, case.org, case.path, current)
                if times is not None and warm:
                    times.append(time.perf_counter() - started)
                warm = True
            cursor = _json(body).get("next_cursor")
            if cursor is None:
                return

    async def exports(self, session: aiohttp.ClientSession) -> dict[str, tuple[list[float], int]]:
        samples = self.samples["big"]
        requests = {
            "one aircraft's history": {"entity_type": "aircraft", "entity_id": samples["aircraft_id"]},
            "one month": {"from": samples["from"], "to": samples["to"]},
        }
        results: dict[str, tuple[list[float], int]] = {}
        for label, query in requests.items():
            progress(f"export of {label}")
            times, rows = [], 0
            for _ in range(self.args.exports):
                started = time.perf_counter()
                body = await self._get(session, "big", "/api/v1/audit-logs/export", query)
                times.append(time.perf_counter() - started)
                rows = body.count(b"\n") - 1
            results[label] = (times, rows)
        return results

    async def _wait_ready(self, session: aiohttp.ClientSession, server: Any) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if server.process.returncode is not None:
                raise BenchError(f"the server exited with {server.process.returncode}:\n{server.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get("/health") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)
        raise BenchError("the server did not become ready in time")

    async def cleanup(self) -> None:
        await self.children.stop_all()
        if not self.args.keep:
            with contextlib.suppress(OSError, asyncpg.PostgresError):
                await drop_database(self.db_url)
        for path in self.log_dir.glob("*.log"):
            path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.log_dir.rmdir()


def _json(body: bytes | str | Any) -> Any:
    """A JSON body (or a json column asyncpg left as text) as Python values."""
    return orjson.loads(body) if isinstance(body, bytes | str) else body


def report(bench: ListsBench, cases: list[Case], exports: Mapping[str, tuple[list[float], int]]) -> str:
    big, small = bench.generated
    lines = [
        f"amss bench lists: scale {bench.args.scale}; big organization {big.size.aircraft} aircraft,"
        f" {big.size.tasks} tasks, {big.audit_rows} audit rows; small {small.size.aircraft} aircraft,"
        f" {small.size.tasks} tasks; {bench.args.requests} sequential requests per page (limit 50);"
        f" generated in {sum(g.seconds for g in bench.generated):.0f} s",
    ]
    width = max(len(c.label) for c in cases)
    header = f"{'org':<5}  {'request':<{width}}  p50 p1  p99 p1  p50 p20  p99 p20  plan"
    lines.append(header)
    misses: list[str] = []
    for case in cases:
        cells = []
        for times in (case.first, case.twentieth):
            cells += [ms(percentile(times, 50)), ms(percentile(times, 99))]
            if not times:
                continue
            p50, p99 = percentile(times, 50), percentile(times, 99)
            limit = TARGET_SMALL_P50 if case.org == "small" else TARGET_P50
            if p50 >= limit or p99 >= TARGET_P99:
                misses.append(f"{case.org} {case.label}")
        numbers = f"{cells[0]:>6}  {cells[1]:>6}  {cells[2]:>7}  {cells[3]:>7}"
        lines.append(f"{case.org:<5}  {case.label:<{width}}  {numbers}  {case.plan}")
    lines.append("audit export (CSV, the whole download):")
    for label, (times, rows) in exports.items():
        target = f" (target < 1 s: {verdict(percentile(times, 50) < TARGET_EXPORT)})" if "aircraft" in label else ""
        lines.append(f"  {label}: {rows} rows, p50 {ms(percentile(times, 50))} ms over {len(times)} runs{target}")
    lines.append(
        f"targets: p50 < 20 ms and p99 < 50 ms per page (small organization p50 < 10 ms): "
        f"{verdict(not misses)}" + (f"; missed by {', '.join(sorted(set(misses)))}" if misses else "")
    )
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scale", type=float, default=1.0, help="size of the big organization (1: 100 aircraft)")
    parser.add_argument("--requests", type=int, default=100, help="sequential requests per page and case")
    parser.add_argument("--exports", type=int, default=5, help="downloads of each audit export")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway database (its name is printed)")


async def bench_lists(settings: Settings, args: argparse.Namespace) -> None:
    if settings.is_production:
        raise BenchError("refused when APP_ENV=production")
    if args.scale <= 0:
        raise BenchError("--scale must be positive")
    bench = ListsBench(settings, args)
    try:
        await bench.setup()
        cases, exports = await bench.run()
    finally:
        await bench.cleanup()
        if args.keep:
            progress(f"kept {bench.db_url}")
    print(report(bench, cases, exports), flush=True)


def run(settings: Settings, args: argparse.Namespace) -> None:
    run_bench("lists", bench_lists(settings, args))
