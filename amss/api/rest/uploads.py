"""Reading a CSV upload (multipart/form-data: `type` and `file`) as a stream, with a byte cap, checked up front.

The file is read in chunks of `CHUNK_BYTES` (aiohttp's `BodyPartReader.read_chunk` returns at most
what it is asked for), counted as it comes, and refused with 413 the moment it passes
`MAX_UPLOAD_BYTES`: the rest is never read (a declared Content-Length over the cap is refused
before anything is read). What can be refused before anything is stored is refused here: not
multipart (415), an unknown, missing or repeated field, a missing or unknown `type`, a missing
`file`, a file that is not UTF-8 or holds a NUL byte, no header row, a header naming a column the
type does not have or missing a required one (400, naming each); a body that stops arriving for
BODY_READ_TIMEOUT is 408, as every body is. The upload is read once per
request: the idempotency middleware hashes it (`upload_digest`) and the handler takes it.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from typing import Final

from aiohttp import BodyPartReader, MultipartReader, web

from amss.api.rest.errors import ApiError
from amss.api.rest.header_text import recorded_text
from amss.app.imports.csv_text import CsvFormatError, HeaderProblem, RecordReader, Utf8Text, check_header
from amss.app.imports.spec import SPECS, import_type
from amss.domain.enums import ImportType
from amss.domain.errors import ValidationFailed
from amss.runtime import SETTINGS

CHUNK_BYTES: Final = 64 * 1024
# multipart framing (boundaries, part headers, the type field) a request may add to the file's bytes
FRAMING_ALLOWANCE: Final = 64 * 1024
MAX_FILE_NAME: Final = 255
_FIELDS: Final = ("type", "file")
_TYPES: Final = ", ".join(t.value for t in ImportType)


@dataclass(frozen=True)
class Upload:
    type: ImportType
    file_name: str
    content: bytes

    def digest(self) -> bytes:
        """What the idempotency hash covers: the type, the file name and the file's bytes."""
        content = hashlib.sha256(self.content).hexdigest()
        return f"upload:{self.type.value}\x00{self.file_name}\x00{content}".encode()


UPLOAD = web.RequestKey("csv_upload", Upload)


def too_large(limit: int) -> ApiError:
    return ApiError(
        "PAYLOAD_TOO_LARGE",
        f"the upload is larger than {limit} bytes (MAX_UPLOAD_BYTES)",
        {"fields": {"file": f"at most {limit} bytes"}},
    )


def stalled() -> ApiError:
    return ApiError("REQUEST_TIMEOUT", "the request body did not arrive in time", headers={"Connection": "close"})


async def read_capped(part: BodyPartReader, limit: int, stall: float | None = None) -> bytes | None:
    """The part's bytes, at most `limit`: None as soon as more arrive (the rest left unread); 408 when no
    chunk arrives within `stall` seconds (BODY_READ_TIMEOUT)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        try:
            async with asyncio.timeout(stall):
                chunk = await part.read_chunk(CHUNK_BYTES)
        except TimeoutError:
            raise stalled() from None
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)


def _transfer_encoding_ok(part: BodyPartReader) -> bool:
    encoding = part.headers.get("Content-Transfer-Encoding", "binary").strip().lower()
    return encoding in ("binary", "8bit", "7bit")


def checked_file(kind: ImportType, content: bytes) -> None:
    """UTF-8 throughout, no NUL byte, and a header row that fits `kind` (400 naming what is wrong)."""
    nul = content.find(b"\x00")
    if nul >= 0:
        raise ValidationFailed.on_field("file", f"holds a NUL byte (at byte {nul}); a CSV file is text")
    text, reader = Utf8Text(), RecordReader()
    header: list[str] | None = None
    try:
        for start in range(0, len(content), CHUNK_BYTES):
            decoded = text.decode(content[start : start + CHUNK_BYTES])
            if header is None:
                records = reader.feed(decoded)
                header = records[0] if records else None
        decoded = text.decode(b"", final=True)
        if header is None:
            records = reader.feed(decoded) + reader.finish()
            header = records[0] if records else None
    except UnicodeDecodeError as exc:
        raise ValidationFailed.on_field("file", f"is not UTF-8 text ({exc.reason})") from None
    except CsvFormatError as exc:
        raise ValidationFailed.on_field("file", str(exc)) from None
    try:
        check_header(SPECS[kind], header)
    except HeaderProblem as exc:
        raise ValidationFailed(str(exc), {"fields": exc.fields}) from None


async def read_upload(request: web.Request) -> Upload:
    """The request's upload, read (once) and checked; see the module docstring for what is refused."""
    if UPLOAD in request:
        return request[UPLOAD]
    if request.content_type != "multipart/form-data":
        raise ApiError("UNSUPPORTED_MEDIA_TYPE", "an upload must be multipart/form-data with the fields type and file")
    if request.headers.get("Content-Encoding", "identity").strip().lower() != "identity":
        raise ApiError(
            "UNSUPPORTED_MEDIA_TYPE",
            "an upload is not accepted in a Content-Encoding",
            {"fields": {"Content-Encoding": "must be identity (or absent) for an upload"}},
        )
    limit = request.app[SETTINGS].max_upload_bytes
    stall = request.app[SETTINGS].body_read_timeout.total_seconds()
    if request.content_length is not None and request.content_length > limit + FRAMING_ALLOWANCE:
        raise too_large(limit)
    try:
        reader = await request.multipart()
    except (ValueError, AssertionError, KeyError):
        raise ValidationFailed.on_field("body", "not a multipart/form-data body (no boundary?)") from None
    kind_text: str | None = None
    file_name: str | None = None
    content: bytes | None = None
    try:
        while (part := await _next_part(reader, stall)) is not None:
            if not isinstance(part, BodyPartReader):
                raise ValidationFailed.on_field("body", "a nested multipart part is not accepted")
            name = part.name or ""
            if name not in _FIELDS:
                shown = recorded_text(name, 64) or "(unnamed)"
                raise ValidationFailed.on_field(shown, "unknown field")
            if (name == "type" and kind_text is not None) or (name == "file" and content is not None):
                raise ValidationFailed.on_field(name, "given more than once")
            if not _transfer_encoding_ok(part):
                raise ValidationFailed.on_field(name, "Content-Transfer-Encoding must be binary, 8bit or 7bit")
            if name == "type":
                value = await read_capped(part, 64, stall)
                if value is None:
                    raise ValidationFailed.on_field("type", f"must be one of {_TYPES}")
                kind_text = value.decode("utf-8", "replace").strip()
            else:
                file_name = recorded_text(part.filename, MAX_FILE_NAME) or "upload.csv"
                content = await read_capped(part, limit, stall)
                if content is None:
                    raise too_large(limit)
    except ValueError as exc:  # aiohttp: a malformed multipart body
        raise ValidationFailed.on_field("body", f"malformed multipart/form-data ({exc})"[:300]) from None
    if kind_text is None:
        raise ValidationFailed.on_field("type", f"required: one of {_TYPES}")
    kind = import_type(kind_text)
    if kind is None:
        raise ValidationFailed.on_field("type", f"must be one of {_TYPES}")
    if content is None or file_name is None:
        raise ValidationFailed.on_field("file", "required: the CSV file")
    checked_file(kind, content)
    upload = Upload(kind, file_name, content)
    request[UPLOAD] = upload
    return upload


async def _next_part(reader: MultipartReader, stall: float) -> object:
    try:
        async with asyncio.timeout(stall):
            return await reader.next()
    except TimeoutError:
        raise stalled() from None


async def upload_digest(request: web.Request) -> bytes:
    """The body as the idempotency hash sees it (reads and checks the upload first)."""
    return (await read_upload(request)).digest()
