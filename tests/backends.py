"""Where the integration tests find Postgres and Redis.

`AMSS_TEST_DATABASE_URL` (a server URL; each run creates and drops its own database on it) and
`AMSS_TEST_REDIS_URL` (each run uses its own key prefix) win; otherwise testcontainers starts
both when a Docker engine answers. With neither, the tests fail and say how to provide them,
unless AMSS_SKIP_INTEGRATION=1 asks explicitly to skip them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from amss.infra.postgres.database import drop_database, ensure_database
from amss.infra.postgres.migrations import Migrator, load_migrations

HOW_TO_PROVIDE = (
    "integration tests need a real Postgres and Redis: set "
    "AMSS_TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres and "
    "AMSS_TEST_REDIS_URL=redis://127.0.0.1:6379/0 (bash .ci/run does), or run a Docker engine "
    "for testcontainers, or set AMSS_SKIP_INTEGRATION=1 to skip them explicitly"
)


@dataclass(frozen=True)
class Backends:
    server_url: str  # a Postgres server URL; the run's database is created on it
    redis_url: str


def with_database(server_url: str, name: str) -> str:
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


def unique_name(kind: str) -> str:
    return f"amss_{kind}_{uuid.uuid4().hex[:12]}"


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
    except Exception:  # any failure means no usable engine
        return False
    return True


@contextmanager
def provide_backends() -> Iterator[Backends]:
    database_url = os.environ.get("AMSS_TEST_DATABASE_URL")
    redis_url = os.environ.get("AMSS_TEST_REDIS_URL")
    if database_url and redis_url:
        yield Backends(database_url, redis_url)
        return
    if os.environ.get("AMSS_SKIP_INTEGRATION") == "1":
        pytest.skip("AMSS_SKIP_INTEGRATION=1: integration tests skipped on request")
    if not _docker_answers():
        pytest.fail(HOW_TO_PROVIDE, pytrace=False)
    from testcontainers.postgres import PostgresContainer
    from testcontainers.redis import RedisContainer

    with ExitStack() as stack:
        if not database_url:
            postgres = stack.enter_context(PostgresContainer("postgres:15", driver=None))
            database_url = postgres.get_connection_url()
        if not redis_url:
            redis = stack.enter_context(RedisContainer("redis:7"))
            redis_url = f"redis://{redis.get_container_host_ip()}:{redis.get_exposed_port(6379)}/0"
        yield Backends(database_url, redis_url)


@asynccontextmanager
async def migrated_database(server_url: str, kind: str) -> AsyncIterator[str]:
    """A database of its own (name from `kind`): created, migrated to the newest version, dropped afterwards."""
    url = with_database(server_url, unique_name(kind))
    await ensure_database(url)
    try:
        conn = await asyncpg.connect(url)
        try:
            async with Migrator(conn, load_migrations()) as migrator:
                await migrator.up()
        finally:
            await conn.close()
        yield url
    finally:
        await drop_database(url)
