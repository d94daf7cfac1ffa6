"""Every `amss bench …` command runs end to end at a tiny size against the real Postgres and Redis and
prints its table: a bench that rots (one did, after the outcome change) fails here, not on the day it is
needed. Nothing about the numbers is asserted, only that each bench completes and reports."""

from __future__ import annotations

import asyncio
import sys

import pytest

from tests.backends import Backends, migrated_database
from tests.cli_helpers import cli_env

SMALL_RUNS = {
    "mesh": (
        ["--sequential", "10", "--concurrent", "40", "--warmup", "5", "--rounds", "1", "--workers", "1"],
        "ratios vs floor",
    ),
    "tasks": (["--requests", "60", "--warmup", "10", "--aircraft", "20"], "verified per row"),
    "events": (["--events", "200", "--rounds", "1", "--deliveries", "40", "--latency-events", "20"], "floor"),
    "grpc": (["--requests", "60", "--warmup", "10", "--aircraft", "20"], "floor"),
    "import": (["--rows", "300", "--idle-requests", "20"], "floor"),
}


@pytest.mark.parametrize("bench", sorted(SMALL_RUNS))
async def test_each_bench_runs_at_a_small_size(backends: Backends, bench: str) -> None:
    options, expected = SMALL_RUNS[bench]
    async with migrated_database(backends.server_url, f"bench_{bench}") as url:
        env = cli_env(url, backends.redis_url)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "amss.cli",
            "bench",
            bench,
            *options,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(600):
            stdout, stderr = await process.communicate()
    output = stdout.decode() + stderr.decode()
    assert process.returncode == 0, output[-4000:]
    assert expected in output, output[-4000:]
