"""amss-server and amss-worker as real processes: they serve /health and stop cleanly on signals."""

from __future__ import annotations

import asyncio
import signal
import sys

import aiohttp
import pytest

from tests.backends import Backends
from tests.cli_helpers import cli_env, free_port


async def _wait_healthy(url: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(100):
            if process.returncode is not None:
                raise AssertionError(f"process exited early with {process.returncode}")
            try:
                async with session.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never answered")


@pytest.mark.parametrize(
    ("role", "address_variable", "stop_signal"),
    [
        ("server", "HTTP_ADDR", signal.SIGTERM),
        ("server", "HTTP_ADDR", signal.SIGINT),
        ("worker", "WORKER_HTTP_ADDR", signal.SIGTERM),
    ],
)
async def test_process_serves_health_and_stops_cleanly_on_signal(
    database_url: str, backends: Backends, role: str, address_variable: str, stop_signal: signal.Signals
) -> None:
    port = free_port()
    env = cli_env(database_url, backends.redis_url, **{address_variable: f"127.0.0.1:{port}"})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "amss.cli", role, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        await _wait_healthy(f"http://127.0.0.1:{port}/health", process)
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/ready") as response:
            assert response.status == 200
        process.send_signal(stop_signal)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0
    log = stderr.decode()
    assert "Traceback" not in log
    assert '"message": "stopped"' in log
    assert all(line.startswith("{") for line in log.strip().splitlines()), log


async def test_ready_is_503_naming_redis_when_redis_is_unreachable(database_url: str) -> None:
    port = free_port()
    env = cli_env(database_url, f"redis://127.0.0.1:{free_port()}/0", HTTP_ADDR=f"127.0.0.1:{port}")
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
        await _wait_healthy(f"http://127.0.0.1:{port}/health", process)
        async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/ready") as response:
            body = await response.json()
        assert response.status == 503
        assert body["code"] == "UNAVAILABLE"
        assert body["details"]["failed"] == ["redis"]
    finally:
        process.terminate()
        await process.wait()
