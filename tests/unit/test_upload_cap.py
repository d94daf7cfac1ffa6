"""The pinned aiohttp's multipart reader honours the upload cap: reading stops once the cap is passed.

The file part is read with `BodyPartReader.read_chunk(CHUNK_BYTES)`; a chunk is never larger than
asked for, so the API has read at most the cap plus one chunk (and the reader's look-ahead for
the boundary) when it answers 413, whatever the client still means to send. The stream below
counts what the reader pulled out of it.
"""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import BodyPartReader, MultipartReader
from multidict import CIMultiDict

from amss.api.rest.uploads import CHUNK_BYTES, read_capped
from tests.import_support import BOUNDARY


class CountingStream:
    """An endless request body: a part head, then file bytes; counts the bytes handed to the reader."""

    def __init__(self, head: bytes) -> None:
        self._buffer = bytearray(head)
        self.handed = 0

    def _refill(self, wanted: int) -> None:
        while len(self._buffer) < wanted:
            self._buffer.extend(b"x" * 4096)

    def _take(self, count: int) -> bytes:
        piece = bytes(self._buffer[:count])
        del self._buffer[:count]
        self.handed += len(piece)
        return piece

    async def read(self, n: int = -1) -> bytes:
        self._refill(max(n, 1))
        return self._take(n)

    async def readline(self, max_line_length: int | None = None) -> bytes:
        self._refill(1)
        end = self._buffer.find(b"\n")
        return self._take(end + 1 if end >= 0 else len(self._buffer))

    def unread_data(self, data: bytes) -> None:
        self._buffer[:0] = data
        self.handed -= len(data)

    def at_eof(self) -> bool:
        return False


@pytest.mark.parametrize("cap", [1024, 100_000, 1 << 20])
async def test_reading_a_part_stops_within_one_chunk_of_the_cap(cap: int) -> None:
    head = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n\r\n').encode()
    stream = CountingStream(head)
    headers = CIMultiDict({"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    reader = MultipartReader(headers, stream)  # type: ignore[arg-type]
    part = await reader.next()
    assert isinstance(part, BodyPartReader)
    assert await asyncio.wait_for(read_capped(part, cap), timeout=10) is None
    read_from_file = stream.handed - len(head)
    assert cap < read_from_file <= cap + 2 * CHUNK_BYTES, (cap, read_from_file)
