"""Driving CSV imports in tests: build a multipart upload, post it, wait for the import to finish."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp

from tests.api_support import Member
from tests.clients import ApiClient

BOUNDARY = "amss-test-boundary-7f3a"


def multipart_body(
    import_type: str | None, content: bytes | None, file_name: str = "import.csv", extra: dict[str, str] | None = None
) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body with `type` and `file` (either left out when None) and its Content-Type."""
    parts: list[bytes] = []
    if import_type is not None:
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="type"\r\n\r\n{import_type}\r\n'.encode())
    for name, value in (extra or {}).items():
        parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    if content is not None:
        head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        parts.append(head + content + b"\r\n")
    body = b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()
    return body, {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


async def upload(
    api: ApiClient,
    member: Member,
    import_type: str | None,
    content: bytes | None,
    headers: dict[str, str] | None = None,
    file_name: str = "import.csv",
) -> tuple[int, Any, Any]:
    body, content_type = multipart_body(import_type, content, file_name)
    async with api.post(
        "/api/v1/imports/csv", data=body, headers={**member.auth, **content_type, **(headers or {})}
    ) as response:
        parsed = await response.json(content_type=None) if response.content_type == "application/json" else None
        return response.status, parsed, response.headers


async def get_json(api: ApiClient, member: Member, path: str) -> tuple[int, Any]:
    async with api.get(path, headers=member.auth) as response:
        return response.status, await response.json(content_type=None)


async def wait_finished(api: ApiClient, member: Member, import_id: str, within: float = 60.0) -> dict[str, Any]:
    """The import once it is completed or failed (polling GET /imports/{id})."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        status, body = await get_json(api, member, f"/api/v1/imports/{import_id}")
        assert status == 200, body
        if body["status"] in ("completed", "failed"):
            return dict(body)
        if loop.time() > deadline:
            raise AssertionError(f"import {import_id} not finished within {within} s: {body}")
        await asyncio.sleep(0.1)


async def all_rows(api: ApiClient, member: Member, import_id: str, status: str | None = None) -> list[dict[str, Any]]:
    """Every row of the import, following the pages' cursors."""
    rows: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = "limit=200" + (f"&status={status}" if status else "") + (f"&cursor={cursor}" if cursor else "")
        code, body = await get_json(api, member, f"/api/v1/imports/{import_id}/rows?{query}")
        assert code == 200, body
        rows.extend(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return rows


def csv_bytes(*lines: str, line_end: str = "\r\n") -> bytes:
    return (line_end.join(lines) + line_end).encode()


async def stream_body(total: int, chunk: int = 256 * 1024) -> Any:
    """An async generator of `total` bytes (for uploads too large to build in memory)."""
    sent = 0
    while sent < total:
        piece = min(chunk, total - sent)
        sent += piece
        yield b"a" * piece


def new_id() -> str:
    return str(uuid.uuid4())


__all__ = ["aiohttp"]
