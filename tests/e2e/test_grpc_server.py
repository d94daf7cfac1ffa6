"""amss-server's gRPC front as a real process: health and reflection without a token, a task over gRPC,
the worker's program generator through it (once, then nothing more; an unreachable server fails the run)."""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis

from amss.api.grpc.gen import amss_pb2 as pb
from amss.auth.keys import generate_key_pair
from amss.auth.tokens import TokenService, service_principal_id
from amss.domain.enums import Role
from amss.infra.grpc.program_client import GrpcProgramGenerator
from amss.infra.postgres.jobs_repo import PgJobRuns, PgMaintenanceCandidates
from amss.jobs.maintenance_jobs import generate_over_grpc
from amss.jobs.runner import Job, JobRunner
from tests.backends import Backends
from tests.cli_helpers import cli_env, free_port
from tests.e2e.test_processes import _wait_healthy
from tests.grpc_support import Stubs, bearer, failure_of
from tests.integration.factories import make_aircraft, make_org, make_program, make_user
from tests.integration.grpc.test_task_service import create_request

LEAD = timedelta(hours=24)


@dataclass(frozen=True)
class RunningServer:
    grpc_address: str
    tokens: TokenService
    process: asyncio.subprocess.Process


@pytest.fixture
async def server(database_url: str, backends: Backends) -> AsyncIterator[RunningServer]:
    keys = generate_key_pair()
    http_port, grpc_port = free_port(), free_port()
    env = cli_env(
        database_url,
        backends.redis_url,
        HTTP_ADDR=f"127.0.0.1:{http_port}",
        GRPC_ADDR=f"127.0.0.1:{grpc_port}",
        AMSS_MESH="off",
        JWT_PRIVATE_KEY_PEM=keys.private_pem,
        JWT_PUBLIC_KEY_PEM=keys.public_pem,
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "amss.cli",
        "server",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await _wait_healthy(f"http://127.0.0.1:{http_port}/health", process)
        yield RunningServer(f"127.0.0.1:{grpc_port}", TokenService(keys, "amss", timedelta(minutes=15)), process)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.communicate(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _member(conn: asyncpg.Connection, server: RunningServer, role: Role) -> tuple[uuid.UUID, str]:
    org_id = await make_org(conn)
    await conn.execute("UPDATE org_policies SET api_rate_limit_per_min = 1000000 WHERE org_id = $1", org_id)
    user_id = await make_user(conn, org_id, role.value)
    return org_id, server.tokens.issue_access(user_id, org_id, role, datetime.now(UTC)).token


async def test_health_reflection_and_a_task(server: RunningServer, conn: asyncpg.Connection) -> None:
    async with grpc.aio.insecure_channel(server.grpc_address) as channel:
        health: Any = health_pb2_grpc.HealthStub(channel)
        for name in ("", "amss.v1.TaskService", "amss.v1.ProgramService"):
            answer = await health.Check(health_pb2.HealthCheckRequest(service=name))
            assert answer.status == health_pb2.HealthCheckResponse.SERVING
        stubs = Stubs.over(channel)
        org_id, token = await _member(conn, server, Role.SCHEDULER)
        aircraft = await make_aircraft(conn, org_id)
        task = await stubs.tasks.CreateTask(create_request(aircraft), metadata=bearer(token))
        assert task.org_id == str(org_id)
        assert await stubs.tasks.GetTask(pb.GetTaskRequest(task_id=task.id), metadata=bearer(token)) == task
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stubs.tasks.CreateTask(create_request(aircraft, hours=1), metadata=bearer(token))
        assert failure_of(caught.value).code == "SCHEDULE_OVERLAP"
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stubs.tasks.GetTask(pb.GetTaskRequest(task_id=task.id))
        assert failure_of(caught.value).status == grpc.StatusCode.UNAUTHENTICATED


async def test_generator_over_grpc_creates_the_due_task_once(
    server: RunningServer, conn: asyncpg.Connection, pg_pool: asyncpg.Pool
) -> None:
    org_id = await make_org(conn)
    aircraft = await make_aircraft(conn, org_id)
    program = await make_program(
        conn, org_id, aircraft_id=aircraft, last_performed=datetime.now(UTC) - timedelta(days=40)
    )

    def credential(org: uuid.UUID) -> str:
        return server.tokens.issue_service("program-generator", org, datetime.now(UTC))

    remote = GrpcProgramGenerator(server.grpc_address, credential)
    try:
        first = await generate_over_grpc(PgMaintenanceCandidates(pg_pool), remote, lead_time=LEAD, org_id=org_id)
        second = await generate_over_grpc(PgMaintenanceCandidates(pg_pool), remote, lead_time=LEAD, org_id=org_id)
    finally:
        await remote.close()
    assert (first.changed, second.changed) == (1, 0)
    tasks = await conn.fetch("SELECT id FROM maintenance_tasks WHERE program_id = $1", program)
    assert len(tasks) == 1
    audit = await conn.fetchrow(
        "SELECT user_id, request_id, details FROM audit_logs WHERE entity_id = $1", tasks[0]["id"]
    )
    assert audit is not None and audit["user_id"] is None and audit["request_id"] is not None
    assert audit["details"]["actor"] == {"job": "program-generator"}

    # a service credential may call nothing but its job's methods
    async with grpc.aio.insecure_channel(server.grpc_address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await Stubs.over(channel).tasks.CreateTask(
                create_request(aircraft, hours=500), metadata=bearer(credential(org_id))
            )
        assert failure_of(caught.value).status == grpc.StatusCode.PERMISSION_DENIED
    assert str(service_principal_id("program-generator")) not in {
        str(row["id"]) for row in await conn.fetch("SELECT id FROM users")
    }


async def test_unreachable_server_fails_the_run_and_counts_it(conn: asyncpg.Connection, pg_pool: asyncpg.Pool) -> None:
    org_id = await make_org(conn)
    aircraft = await make_aircraft(conn, org_id)
    program = await make_program(
        conn, org_id, aircraft_id=aircraft, last_performed=datetime.now(UTC) - timedelta(days=40)
    )
    tokens = TokenService(generate_key_pair(), "amss", timedelta(minutes=15))
    remote = GrpcProgramGenerator(
        f"127.0.0.1:{free_port()}", lambda org: tokens.issue_service("program-generator", org, datetime.now(UTC)), 5
    )
    registry = CollectorRegistry()
    runs = PgJobRuns(pg_pool)
    before = (await runs.last_successes()).get("program-generator")
    runner = JobRunner(registry, runs)
    try:
        await runner.run_once(
            Job(
                "program-generator",
                "0 */6 * * *",
                lambda: generate_over_grpc(PgMaintenanceCandidates(pg_pool), remote, lead_time=LEAD, org_id=org_id),
            )
        )
    finally:
        await remote.close()
    assert registry.get_sample_value("job_failures_total", {"job": "program-generator"}) == 1.0
    # a failed run is not the job's last success: the next start still finds the job due
    assert (await runs.last_successes()).get("program-generator") == before
    # leave no due program behind for the workers later tests start on this database
    await conn.execute("UPDATE maintenance_programs SET deleted_at = now() WHERE id = $1", program)
    assert await conn.fetchval("SELECT count(*) FROM maintenance_tasks WHERE aircraft_id = $1", aircraft) == 0


async def test_sigterm_is_graceful(database_url: str, backends: Backends, conn: asyncpg.Connection) -> None:
    """Health goes NOT_SERVING at once; a call in flight still gets its answer; the process exits 0."""
    keys = generate_key_pair()
    http_port, grpc_port = free_port(), free_port()
    prefix = f"graceful-{uuid.uuid4().hex[:8]}"
    env = cli_env(
        database_url,
        backends.redis_url,
        HTTP_ADDR=f"127.0.0.1:{http_port}",
        GRPC_ADDR=f"127.0.0.1:{grpc_port}",
        # mesh on and no worker: a create waits the whole AMSS_COMMAND_WAIT, then answers "accepted"
        AMSS_MESH="on",
        AMSS_COMMAND_WAIT="5s",
        AMSS_REDIS_PREFIX=prefix,
        SHUTDOWN_GRACE="20s",
        JWT_PRIVATE_KEY_PEM=keys.private_pem,
        JWT_PUBLIC_KEY_PEM=keys.public_pem,
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "amss.cli",
        "server",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    tokens = TokenService(keys, "amss", timedelta(minutes=15))
    try:
        await _wait_healthy(f"http://127.0.0.1:{http_port}/health", process)
        org_id = await make_org(conn)
        user_id = await make_user(conn, org_id, "scheduler")
        token = tokens.issue_access(user_id, org_id, Role.SCHEDULER, datetime.now(UTC)).token
        aircraft = await make_aircraft(conn, org_id)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            health: Any = health_pb2_grpc.HealthStub(channel)
            watch = health.Watch(health_pb2.HealthCheckRequest(service="amss.v1.TaskService"))
            first = await watch.read()
            assert first.status == health_pb2.HealthCheckResponse.SERVING
            in_flight = asyncio.ensure_future(
                Stubs.over(channel).tasks.CreateTask(create_request(aircraft), metadata=bearer(token))
            )
            # the call is in flight once its command is on a partition stream (no worker reads it)
            client = Redis.from_url(backends.redis_url)
            try:
                for _ in range(300):
                    if [key async for key in client.scan_iter(match=f"{prefix}:cmd:*")]:
                        break
                    await asyncio.sleep(0.05)
            finally:
                await client.aclose()
            assert not in_flight.done()
            process.send_signal(signal.SIGTERM)
            update = await asyncio.wait_for(watch.read(), 10)
            assert update.status == health_pb2.HealthCheckResponse.NOT_SERVING
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await in_flight
            # the in-flight call was answered (its command accepted, durable), not cancelled by the stop
            failure = failure_of(caught.value)
            assert (failure.status, failure.code) == (grpc.StatusCode.UNAVAILABLE, "UNAVAILABLE"), failure
            assert "poll /api/v1/commands/" in failure.message
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0
    assert "Traceback" not in stderr.decode()


async def test_health_is_not_serving_while_redis_is_unreachable(database_url: str) -> None:
    http_port, grpc_port = free_port(), free_port()
    env = cli_env(
        database_url,
        f"redis://127.0.0.1:{free_port()}/0",
        HTTP_ADDR=f"127.0.0.1:{http_port}",
        GRPC_ADDR=f"127.0.0.1:{grpc_port}",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "amss.cli",
        "server",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await _wait_healthy(f"http://127.0.0.1:{http_port}/health", process)
        async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_port}") as channel:
            health: Any = health_pb2_grpc.HealthStub(channel)
            for name in ("", "amss.v1.TaskService"):
                answer = await health.Check(health_pb2.HealthCheckRequest(service=name))
                assert answer.status == health_pb2.HealthCheckResponse.NOT_SERVING, name
    finally:
        process.terminate()
        await process.wait()
