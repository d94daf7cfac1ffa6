"""A client's malformed HTTP request, sent raw over a socket to a real amss-server: it answers 400
and logs one WARNING line for it — no ERROR, no traceback that would page someone."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from typing import Any

import pytest

from tests.backends import Backends
from tests.cli_helpers import cli_env, free_port
from tests.e2e.test_processes import _wait_healthy

MALFORMED = {
    "bad-request-line": b"GET /health HTTP/1.Q\r\nHost: x\r\n\r\n",
    "bad-header": b"GET /health HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
    "bad-header-name": b"GET /health HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n",
}


async def _send_raw(port: int, raw: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(raw)
        await writer.drain()
        return await asyncio.wait_for(reader.read(4096), 10)
    finally:
        writer.close()
        await writer.wait_closed()


def _records(stderr: bytes) -> list[dict[str, Any]]:
    records = []
    for line in stderr.decode().splitlines():
        if line.strip():
            records.append(json.loads(line))
    return records


@pytest.mark.parametrize("name", sorted(MALFORMED))
async def test_a_malformed_request_is_one_warning_line(database_url: str, backends: Backends, name: str) -> None:
    port = free_port()
    env = cli_env(database_url, backends.redis_url, HTTP_ADDR=f"127.0.0.1:{port}")
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
        await _wait_healthy(f"http://127.0.0.1:{port}/health", process)
        answer = await _send_raw(port, MALFORMED[name])
        assert answer.split(b"\r\n", 1)[0].endswith(b" 400 Bad Request"), answer
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    records = _records(stderr)
    assert "Traceback" not in stderr.decode()
    assert [r for r in records if r["level"] in ("ERROR", "CRITICAL")] == []
    [warning] = [r for r in records if r["logger"] == "aiohttp.server"]
    assert warning["level"] == "WARNING"
    assert "malformed request" in warning["message"]
    assert "exc_info" not in warning
