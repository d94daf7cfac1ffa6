"""Request bodies arrive as the client sent them (aiohttp's own decoding is off) and are decoded here.

One `Content-Encoding` of `gzip` (or `x-gzip`) or `deflate` (zlib, or raw deflate as some clients
send it) is decoded; `identity` or no header means none. Anything else — another coding (`br`,
`zstd`, `compress`), more than one coding, a value that is not ASCII — is 415
UNSUPPORTED_MEDIA_TYPE; a body that does not decode is 400 VALIDATION_ERROR; a body larger than
the body limit once decoded is 413. Each names `Content-Encoding` in `details.fields` and never
echoes the header's value.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import Final

from aiohttp import web

from amss.api.rest.errors import ApiError
from amss.domain.errors import ValidationFailed
from amss.runtime import SETTINGS

HEADER: Final = "Content-Encoding"
SUPPORTED: Final = ("gzip", "deflate")
# zlib window bits per coding, tried in order: gzip framing; zlib framing, then raw deflate
_WINDOW_BITS: Final[dict[str, tuple[int, ...]]] = {
    "gzip": (16 + zlib.MAX_WBITS,),
    "x-gzip": (16 + zlib.MAX_WBITS,),
    "deflate": (zlib.MAX_WBITS, -zlib.MAX_WBITS),
}
# the request handlers' settings (web.Application handler_args): bodies come in undecoded
HANDLER_ARGS: Final = {"auto_decompress": False}


def content_coding(header: str | None) -> str | None:
    """The one coding to undo (None for none); 415 for an unsupported or stacked one."""
    codings = [part.strip().lower() for part in (header or "").split(",") if part.strip()]
    codings = [coding for coding in codings if coding != "identity"]
    if not codings:
        return None
    if len(codings) > 1 or codings[0] not in _WINDOW_BITS:
        raise ApiError(
            "UNSUPPORTED_MEDIA_TYPE",
            f"unsupported {HEADER}; send one of {', '.join(SUPPORTED)}, or identity",
            {"fields": {HEADER: f"must be one of {', '.join(SUPPORTED)} or identity (a single coding)"}},
        )
    return codings[0]


def decoded(raw: bytes, coding: str, limit: int) -> bytes:
    """`raw` decoded: 400 when it is not a whole body in that coding, 413 past `limit` bytes."""
    for window_bits in _WINDOW_BITS[coding]:
        decoder = zlib.decompressobj(window_bits)
        try:
            body = decoder.decompress(raw, limit + 1)
        except zlib.error:
            continue
        if len(body) > limit:
            raise ApiError(
                "PAYLOAD_TOO_LARGE",
                f"the request body is larger than {limit} bytes once decoded",
                {"fields": {HEADER: "decodes to too large a body"}},
            )
        if decoder.eof and not decoder.unused_data:
            return body
    raise ValidationFailed.on_field(HEADER, f"the request body is not valid {coding} data")


async def read_body(request: web.Request) -> bytes:
    """The request body with its Content-Encoding undone (the raw bytes when it has none)."""
    coding = content_coding(request.headers.get(HEADER))
    raw = await read_raw_body(request)
    if coding is None:
        return raw
    return decoded(raw, coding, request.app[SETTINGS].max_body_bytes)


async def read_raw_body(request: web.Request) -> bytes:
    """The body as sent; 408 (and the connection closed) when the client stalls past BODY_READ_TIMEOUT."""
    try:
        async with asyncio.timeout(request.app[SETTINGS].body_read_timeout.total_seconds()):
            return await request.read()
    except TimeoutError:
        raise ApiError(
            "REQUEST_TIMEOUT",
            "the request body did not arrive in time",
            headers={"Connection": "close"},
        ) from None
