"""A lean HTTP/1.1 keep-alive client for the benchmarks' load, so the load costs the shared CPUs little.

`amss bench tasks` runs the load generator on the same cores as the server, the worker, Postgres
and Redis. A general-purpose client (aiohttp's) spends about as much CPU per request as a third
of the server does, which the system under test then lacks; the floor's load (asyncpg) is far
leaner. This client only writes pre-built requests on reused connections and reads
`Content-Length` responses (all the API sends for these requests), like wrk or hey would.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Final, cast

_HEADER_END: Final = b"\r\n\r\n"


class BenchHttpError(Exception):
    pass


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio.Transport subclasses

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(BenchHttpError(f"connection lost: {exc!r}"))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._waiter is None or self._waiter.done():
            return
        end = self._buffer.find(_HEADER_END)
        if end < 0:
            return
        head = bytes(self._buffer[:end]).split(b"\r\n")
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if len(self._buffer) < end + 4 + length:
            return
        body = bytes(self._buffer[end + 4 : end + 4 + length])
        del self._buffer[: end + 4 + length]
        self._waiter.set_result((int(head[0].split(b" ", 2)[1]), body))

    async def send(self, request: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self._waiter


class BenchHttpClient:
    """POSTs JSON to one host, each request on an idle keep-alive connection (a new one when none is idle)."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self._host, self._port = host, port
        self._head = "".join(f"{name}: {value}\r\n" for name, value in {"Host": f"{host}:{port}", **headers}.items())
        self._idle: deque[_Connection] = deque()
        self._all: list[_Connection] = []

    async def post_json(self, path: str, body: bytes) -> tuple[int, bytes]:
        request = (
            f"POST {path} HTTP/1.1\r\n{self._head}Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        connection = self._idle.popleft() if self._idle else await self._connect()
        try:
            response = await connection.send(request)
        except BaseException:
            if connection.transport is not None:
                connection.transport.close()
            raise
        if not connection.closed:
            self._idle.append(connection)
        return response

    async def _connect(self) -> _Connection:
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(_Connection, self._host, self._port)
        self._all.append(connection)
        return connection

    def close(self) -> None:
        for connection in self._all:
            if connection.transport is not None:
                connection.transport.close()
        self._all.clear()
        self._idle.clear()
