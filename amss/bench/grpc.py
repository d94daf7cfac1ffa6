"""`amss bench grpc`: task creation over REST, unary gRPC CreateTask and one BatchCreateTasks stream, against
the SQL floor of `amss bench tasks`, all in one run (one server and one worker, mesh on, for the three fronts).

REST and unary run closed-loop at `--inflight` (then open-loop at half that row's peak for the p99 at
half load, as `amss bench tasks` does); the batch row sends all its requests on one stream, the server
keeping GRPC_BATCH_IN_FLIGHT of them running, and a result's latency counts from its request's send.
Targets: the stream at least 2x REST's throughput and at least 0.5x the floor's.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final

import aiohttp
import grpc
import orjson
from google.protobuf import timestamp_pb2

from amss.api.grpc.gen import amss_pb2 as pb
from amss.api.grpc.gen import amss_pb2_grpc
from amss.auth.tokens import TokenService
from amss.bench.common import (
    BenchError,
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
from amss.bench.tasks import FLOOR_ROW, Phase, Planned, Row, TasksBench, format_table
from amss.config import Settings
from amss.domain.enums import Role
from amss.infra.redis.client import create_redis
from amss.infra.redis.keys import KeySpace

REST_ROW: Final = "rest CreateTask"
UNARY_ROW: Final = "grpc CreateTask"
BATCH_ROW: Final = "grpc BatchCreateTasks"


def _stamp(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value.astimezone(UTC))
    return stamp


class GrpcBench(TasksBench):
    def request(self, plan: Planned) -> pb.CreateTaskRequest:
        return pb.CreateTaskRequest(
            aircraft_id=str(self.aircraft[plan.aircraft]),
            type=pb.TASK_TYPE_INSPECTION,
            start_time=_stamp(plan.start),
            end_time=_stamp(plan.end),
        )

    async def run_fronts(self) -> list[Row]:
        http_port, grpc_port = free_port(), free_port()
        keys = KeySpace(f"{self.prefix}-fronts")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AMSS_", "JWT_"))}
        env.update(
            DB_URL=self.db_url,
            REDIS_URL=self.settings.effective_redis_url,
            LOG_LEVEL="warning",
            APP_ENV="test",
            BCRYPT_ROUNDS="4",
            JWT_PRIVATE_KEY_PEM=self.keys.private_pem,
            JWT_PUBLIC_KEY_PEM=self.keys.public_pem,
            AMSS_MESH="on",
            AMSS_REDIS_PREFIX=keys.prefix,
            HTTP_ADDR=f"127.0.0.1:{http_port}",
            GRPC_ADDR=f"127.0.0.1:{grpc_port}",
        )
        cli = [sys.executable, "-m", "amss.cli"]
        worker_env = {**env, "WORKER_HTTP_ADDR": f"127.0.0.1:{free_port()}", "WORKER_ID": f"{keys.prefix}-w"}
        started = [
            await self.children.spawn("server", [*cli, "server"], env),
            await self.children.spawn("worker", [*cli, "worker"], worker_env),
        ]
        progress("starting server (REST and gRPC) and worker, mesh on")
        tokens = TokenService(self.keys, self.settings.jwt_issuer, timedelta(hours=2))
        token = tokens.issue_access(self.user_id, self.org_id, Role.SCHEDULER, datetime.now(UTC)).token
        metadata = (("authorization", f"Bearer {token}"),)
        pids = {child.process.pid: "server/worker" for child in started}
        load = BenchHttpClient("127.0.0.1", http_port, {"Authorization": f"Bearer {token}"})
        redis = create_redis(self.settings.effective_redis_url)
        try:
            async with aiohttp.ClientSession() as session:
                await self._wait_ready(session, f"http://127.0.0.1:{http_port}/health", started, keys, redis)

            async def rest(plan: Planned) -> tuple[int, uuid.UUID | None]:
                body = {
                    "aircraft_id": str(self.aircraft[plan.aircraft]),
                    "type": "inspection",
                    "start_time": plan.start.isoformat(),
                    "end_time": plan.end.isoformat(),
                }
                status, payload = await load.post_json("/api/v1/maintenance-tasks", orjson.dumps(body))
                return (201, uuid.UUID(orjson.loads(payload)["id"])) if status == 201 else (status, None)

            rows = [await self.measure(REST_ROW, rest, pids)]
            async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
                stub = amss_pb2_grpc.TaskServiceStub(channel)

                async def unary(plan: Planned) -> tuple[int, uuid.UUID | None]:
                    try:
                        task = await stub.CreateTask(self.request(plan), metadata=metadata)
                    except grpc.aio.AioRpcError as exc:
                        return (409 if exc.code() == grpc.StatusCode.FAILED_PRECONDITION else 500), None
                    return 201, uuid.UUID(task.id)

                rows.append(await self.measure(UNARY_ROW, unary, pids))
                rows.append(await self.measure_batch(stub, metadata, pids))
            return rows
        finally:
            load.close()
            await self.children.stop(started)
            await redis.aclose()

    async def measure_batch(
        self, stub: amss_pb2_grpc.TaskServiceAsyncStub, metadata: Sequence[tuple[str, str]], pids: dict[int, str]
    ) -> Row:
        await self.one_stream(stub, metadata, self.plans(self.args.warmup))
        await self.settle()
        before = cpu_snapshot()
        phase = await self.one_stream(stub, metadata, self.plans(self.args.requests))
        cpu = CpuUsage()
        cpu.add(before, cpu_snapshot(), {os.getpid(): "bench", **pids}, len(phase.latencies))
        await self.verify(BATCH_ROW, phase.created)
        return Row(BATCH_ROW, phase, Phase(), 0.0, cpu.describe(os.cpu_count()))

    async def one_stream(
        self, stub: amss_pb2_grpc.TaskServiceAsyncStub, metadata: Sequence[tuple[str, str]], plans: list[Planned]
    ) -> Phase:
        phase = Phase()
        sent: dict[int, float] = {}

        async def requests() -> AsyncIterator[pb.CreateTaskRequest]:
            for index, plan in enumerate(plans):
                sent[index] = time.perf_counter()
                yield self.request(plan)

        started = time.perf_counter()
        async for result in stub.BatchCreateTasks(requests(), metadata=metadata):
            phase.latencies.append(time.perf_counter() - sent[result.index])
            if result.WhichOneof("result") == "task":
                phase.statuses[201] = phase.statuses.get(201, 0) + 1
                phase.created.append(uuid.UUID(result.task.id))
            else:
                status = 409 if result.error.code == grpc.StatusCode.FAILED_PRECONDITION.value[0] else 500
                phase.statuses[status] = phase.statuses.get(status, 0) + 1
        phase.elapsed = time.perf_counter() - started
        if len(phase.latencies) != len(plans):
            raise BenchError(f"the stream answered {len(phase.latencies)} of {len(plans)} requests")
        return phase


def report(rows: Sequence[Row], args: argparse.Namespace) -> str:
    lines = [
        f"amss bench grpc: {args.requests} creates per row (after {args.warmup} warm-up); REST and unary at"
        f" {args.inflight} in flight, then open-loop at half the row's peak; the batch row one stream;"
        f" {args.aircraft} aircraft, ~{args.overlap:.0%} deliberately overlapping windows; mesh on",
        format_table(rows, args.inflight),
    ]
    lines += [f"  {row.name}: {row.cpu}" for row in rows]
    by_name = {row.name: row for row in rows}
    floor, rest, batch = by_name.get(FLOOR_ROW), by_name.get(REST_ROW), by_name.get(BATCH_ROW)
    if batch is not None and rest is not None:
        share = ratio(batch.peak.throughput, rest.peak.throughput)
        lines.append(f"batch stream: {share:.2f} x REST throughput (target >= 2: {verdict(share >= 2)})")
    if batch is not None and floor is not None:
        share = ratio(batch.peak.throughput, floor.peak.throughput)
        lines.append(f"batch stream: {share:.2f} x floor throughput (target >= 0.5: {verdict(share >= 0.5)})")
    for row in rows:
        p50, p99 = percentile(row.peak.latencies, 50), percentile(row.peak.latencies, 99)
        lines.append(f"{row.name}: p50 {ms(p50)} ms, p99 {ms(p99)} ms")
    lines.append(
        "verified per row: no two active tasks of an aircraft overlap; every success has exactly one audit row"
    )
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--requests", type=int, default=10_000, help="creates in the measured phase of each row")
    parser.add_argument("--inflight", type=int, default=64, help="requests in flight for REST and unary gRPC")
    parser.add_argument("--aircraft", type=int, default=200, help="aircraft the windows are spread over")
    parser.add_argument("--overlap", type=float, default=0.1, help="share of requests overlapping an earlier window")
    parser.add_argument("--warmup", type=int, default=300, help="creates before each row is measured")


async def bench_grpc(settings: Settings, args: argparse.Namespace) -> None:
    if settings.is_production:
        raise BenchError("refused when APP_ENV=production")
    bench = GrpcBench(settings, args)
    try:
        await bench.setup()
        rows = [await bench.run_floor(), *await bench.run_fronts()]
    finally:
        await bench.cleanup()
    print(report(rows, args), flush=True)


def run(settings: Settings, args: argparse.Namespace) -> None:
    run_bench("grpc", bench_grpc(settings, args))
