"""The validating phase: stream the stored file, check every row, stage the rows in batches.

The file is read from the database in chunks and parsed as it comes (amss/app/imports/csv_text.py),
so a worker holds one chunk and one batch, whatever the file's size. A restarted job parses the
file again from the top (cheap) but stages only rows after the last staged one: rows are never
staged twice, and the duplicate-key rule sees the same earlier rows as the first run did.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Final

from amss.app.imports.csv_text import CsvFormatError, Header, HeaderProblem, RecordReader, Utf8Text, check_header
from amss.app.imports.ports import ImportJobStore, ImportRecord, StagedRow
from amss.app.imports.rows import ProgramRow, check_row, natural_key
from amss.app.imports.spec import SPECS
from amss.app.ports import Clock
from amss.domain.enums import ImportType

CHUNK_BYTES: Final = 1 << 20


class FileUnreadable(Exception):
    """The file itself cannot be processed (not CSV, no header...): the import fails with this reason."""


@dataclass
class _Progress:
    header: Header | None = None
    row_number: int = 0


async def file_chunks(
    store: ImportJobStore, record: ImportRecord, chunk_bytes: int = CHUNK_BYTES
) -> AsyncIterator[bytes]:
    offset = 0
    while offset < record.byte_size:
        chunk = await store.read_chunk(record.org_id, record.id, offset, chunk_bytes)
        if not chunk:
            break
        offset += len(chunk)
        yield chunk


async def validate(store: ImportJobStore, record: ImportRecord, clock: Clock, batch_rows: int) -> None:
    """Stage every row of `record`'s file not staged yet; FileUnreadable when the file cannot be read."""
    spec = SPECS[record.type]
    staged_through = await store.staged_through(record.org_id, record.id)
    seen: dict[tuple[str, ...], int] = {}
    progress = _Progress()
    batch: list[StagedRow] = []
    reader, text = RecordReader(), Utf8Text()

    async def take(records: list[list[str]]) -> None:
        for cells in records:
            if progress.header is None:
                try:
                    progress.header = check_header(spec, cells)
                except HeaderProblem as exc:
                    raise FileUnreadable(str(exc)) from None
                continue
            progress.row_number += 1
            row_number = progress.row_number
            raw, problems = progress.header.raw(cells)
            key = natural_key(spec, raw)
            first = seen.get(key) if key is not None else None
            if key is not None and first is None:
                seen[key] = row_number
            if row_number <= staged_through:
                continue
            checked = check_row(record.type, raw, clock())
            errors = problems + checked.errors
            if first is not None:
                errors.append(f"{spec.key[0]}: the same {' + '.join(spec.key)} as row {first}")
            batch.append(StagedRow(row_number, raw, errors))
            if len(batch) >= batch_rows:
                await flush()

    async def flush() -> None:
        if not batch:
            return
        rows = await _with_references(store, record.org_id, record.type, list(batch), clock)
        batch.clear()
        await store.stage(record.org_id, record.id, rows)

    try:
        async for chunk in file_chunks(store, record):
            await take(reader.feed(text.decode(chunk)))
        await take(reader.feed(text.decode(b"", final=True)))
        await take(reader.finish())
    except CsvFormatError as exc:
        raise FileUnreadable(str(exc)) from None
    except UnicodeDecodeError as exc:
        raise FileUnreadable(f"the file is not UTF-8 text ({exc.reason})") from None
    if progress.header is None:
        raise FileUnreadable("the file has no header row")
    await flush()


async def _with_references(
    store: ImportJobStore, org_id: uuid.UUID, import_type: ImportType, rows: list[StagedRow], clock: Clock
) -> list[StagedRow]:
    """Programs name their aircraft by tail number: one that does not exist makes the row invalid."""
    if import_type is not ImportType.PROGRAMS:
        return rows
    parsed = {row.row_number: check_row(import_type, row.raw, clock()).parsed for row in rows if row.valid}
    tails = {p.tail_number for p in parsed.values() if isinstance(p, ProgramRow) and p.tail_number}
    found = await store.aircraft_ids(org_id, tails) if tails else {}
    checked: list[StagedRow] = []
    for row in rows:
        program = parsed.get(row.row_number)
        if isinstance(program, ProgramRow) and program.tail_number and program.tail_number not in found:
            row = StagedRow(
                row.row_number, row.raw, ["tail_number: no aircraft with this tail number in the organization"]
            )
        checked.append(row)
    return checked
