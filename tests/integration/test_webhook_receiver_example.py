"""The receiver example of the README (examples/webhook_receiver.py), over real HTTP: a correctly signed
delivery is accepted (and handled once), everything else is refused; the script itself runs as documented."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import aiohttp
import pytest

from amss.domain.webhook_signing import signature_header
from examples.webhook_receiver import make_server
from tests.cli_helpers import free_port

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
SECRET: Final = "a" * 32 + "0123456789abcdef" * 2
OTHER_SECRET: Final = "f" * 64
NOW_MS: Final = 1_800_000_000_000
BODY: Final = json.dumps(
    {"version": 1, "event_id": "3f0c6a2e-0000-4000-8000-000000000001", "event_type": "task_created", "data": {}}
).encode()


class Running:
    def __init__(self, url: str, events: list[dict[str, Any]]) -> None:
        self.url = url
        self.events = events


@pytest.fixture
def receiver() -> Iterator[Running]:
    events: list[dict[str, Any]] = []
    server = make_server([SECRET], on_event=events.append, now_ms=lambda: NOW_MS)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Running(f"http://127.0.0.1:{server.server_address[1]}/", events)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _headers(timestamp: int = NOW_MS, secrets: tuple[str, ...] = (SECRET,), body: bytes = BODY) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Webhook-Event": "task_created",
        "X-Webhook-Delivery-Id": "9d1f0000-0000-4000-8000-000000000002",
        "X-Webhook-Timestamp": str(timestamp),
        "X-Webhook-Signature": signature_header(list(secrets), timestamp, body),
    }


async def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    async with aiohttp.ClientSession() as session, session.post(url, data=body, headers=headers) as response:
        return response.status


async def test_a_correctly_signed_delivery_is_accepted_once(receiver: Running) -> None:
    assert await _post(receiver.url, BODY, _headers()) == 204
    assert receiver.events == [json.loads(BODY)]
    # the same delivery again (a retry after a lost answer): acknowledged, not handled twice
    assert await _post(receiver.url, BODY, _headers()) == 204
    assert len(receiver.events) == 1


async def test_during_a_rotation_either_signature_may_match(receiver: Running) -> None:
    headers = _headers(secrets=(OTHER_SECRET, SECRET))  # new first; the receiver still holds the old one
    assert await _post(receiver.url, BODY, headers) == 204


@pytest.mark.parametrize(
    ("what", "body", "headers"),
    [
        ("another secret", BODY, _headers(secrets=(OTHER_SECRET,))),
        ("a changed body", BODY.replace(b"task_created", b"task_deleted"), _headers()),
        ("too old", BODY, _headers(timestamp=NOW_MS - 301_000)),
        ("from the future", BODY, _headers(timestamp=NOW_MS + 301_000)),
        ("no signature", BODY, {k: v for k, v in _headers().items() if k != "X-Webhook-Signature"}),
        ("no timestamp", BODY, {k: v for k, v in _headers().items() if k != "X-Webhook-Timestamp"}),
        ("a malformed signature", BODY, {**_headers(), "X-Webhook-Signature": "v1=zz v2=" + "0" * 64}),
        ("a malformed timestamp", BODY, {**_headers(), "X-Webhook-Timestamp": "soon"}),
        ("a signature of seconds", BODY, _headers(timestamp=NOW_MS // 1000)),
    ],
)
async def test_anything_else_is_refused(receiver: Running, what: str, body: bytes, headers: dict[str, str]) -> None:
    assert await _post(receiver.url, body, headers) == 401, what
    assert receiver.events == [], what


async def test_an_oversized_body_is_refused_unread(receiver: Running) -> None:
    port = int(receiver.url.rsplit(":", 1)[1].strip("/"))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n")
    await writer.drain()
    status_line = await reader.readline()
    writer.close()
    await writer.wait_closed()
    assert status_line.split()[1] == b"413"
    assert receiver.events == []


async def test_the_script_runs_as_the_readme_says(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "AMSS_WEBHOOK_SECRET": f"{OTHER_SECRET},{SECRET}"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO_ROOT / "examples" / "webhook_receiver.py"),
        "--port",
        str(port),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        now = int(time.time() * 1000)
        status = None
        for _ in range(100):
            try:
                status = await _post(f"http://127.0.0.1:{port}/", BODY, _headers(timestamp=now))
                break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.05)
        assert status == 204
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        assert json.loads(line) == json.loads(BODY)
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)
