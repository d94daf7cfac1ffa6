"""What the import use cases need from storage and the job stream: records, repositories and Protocols."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

from amss.app.paging import Page, PageRequest
from amss.domain.enums import ImportRowStatus, ImportStatus, ImportType, PartItemStatus


@dataclass(frozen=True)
class ImportSummary:
    total: int = 0
    valid: int = 0
    invalid: int = 0
    applied: int = 0
    rejected: int = 0

    def as_json(self) -> dict[str, int]:
        return {
            "total": self.total,
            "valid": self.valid,
            "invalid": self.invalid,
            "applied": self.applied,
            "rejected": self.rejected,
        }


@dataclass(frozen=True)
class ImportRecord:
    id: uuid.UUID
    org_id: uuid.UUID
    type: ImportType
    status: ImportStatus
    file_name: str
    byte_size: int
    # the recorded actor (amss.app.commands.envelope.record_actor): who uploaded, from where
    principal: dict[str, Any]
    request_id: uuid.UUID | None
    summary: ImportSummary
    error: str | None
    attempts: int
    version: int
    created_at: datetime
    updated_at: datetime

    @property
    def created_by(self) -> uuid.UUID | None:
        user_id = self.principal.get("user_id")
        return uuid.UUID(user_id) if isinstance(user_id, str) else None

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.COMPLETED, ImportStatus.FAILED)


@dataclass(frozen=True)
class ImportRowRecord:
    id: uuid.UUID
    row_number: int
    raw: dict[str, str]
    status: ImportRowStatus
    errors: list[str]
    rejected: bool
    updated_at: datetime


@dataclass(frozen=True)
class NewImport:
    type: ImportType
    file_name: str
    content: bytes
    # None when the uploader is not a user of the organization (an admin acting for it)
    created_by: uuid.UUID | None
    principal: dict[str, Any]
    request_id: uuid.UUID | None


@dataclass(frozen=True)
class StagedRow:
    row_number: int
    raw: dict[str, str]
    errors: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class RowVerdict:
    """What applying a row came to: applied, or refused with its problems."""

    row_number: int
    errors: list[str] = field(default_factory=list)


class ImportRepository(Protocol):
    """The imports of an organization, inside a unit of work (uploads and reads)."""

    async def add(self, org_id: uuid.UUID, new: NewImport) -> ImportRecord: ...
    async def get(self, org_id: uuid.UUID, import_id: uuid.UUID) -> ImportRecord | None: ...
    async def list_page(self, org_id: uuid.UUID, page: PageRequest) -> Page[ImportRecord]: ...
    async def rows_page(
        self, org_id: uuid.UUID, import_id: uuid.UUID, status: ImportRowStatus | None, page: PageRequest
    ) -> Page[ImportRowRecord]: ...
    async def counts(self, org_id: uuid.UUID, import_id: uuid.UUID) -> ImportSummary:
        """The counts as the rows say now (they move while the import runs)."""
        ...


class ImportQueue(Protocol):
    """Where an accepted upload is announced to the workers (the `import.jobs` stream)."""

    async def enqueue(self, org_id: uuid.UUID, import_id: uuid.UUID) -> None: ...


@dataclass(frozen=True)
class QueuedImport:
    entry_id: str
    org_id: uuid.UUID
    import_id: uuid.UUID


class ImportJobReader(Protocol):
    """A worker's side of the `import.jobs` stream: its consumer group, reclaiming and dead letters."""

    async def read(self, block_ms: int) -> list[QueuedImport]: ...
    async def reclaim(self, min_idle_ms: int) -> list[QueuedImport]:
        """Entries a consumer took but did not acknowledge for `min_idle_ms` (its worker died)."""
        ...

    async def ack(self, entry_id: str) -> None: ...
    async def dead_letter(self, org_id: uuid.UUID, import_id: uuid.UUID, error: str) -> None: ...


@dataclass(frozen=True)
class Claimed:
    record: ImportRecord


@dataclass(frozen=True)
class GaveUp:
    """The claim found the job past its attempts: the import is now `failed` (dead-letter it once)."""

    record: ImportRecord


@dataclass(frozen=True)
class ExistingItem:
    id: uuid.UUID
    part_definition_id: uuid.UUID
    status: PartItemStatus
    expiry_date: datetime | None


class ImportJobStore(Protocol):
    """The worker's storage for one import job: its lease, its file, its staged rows and the lookups by natural key.

    Every method is one short transaction of its own; every statement filters on the organization."""

    async def claim(
        self, org_id: uuid.UUID, import_id: uuid.UUID, worker: str, lease: timedelta, max_attempts: int
    ) -> Claimed | GaveUp | None:
        """Take the job (a new attempt), unless it is finished or another worker's lease is live (None)."""
        ...

    async def renew(self, org_id: uuid.UUID, import_id: uuid.UUID, worker: str, lease: timedelta) -> bool: ...
    async def release(self, org_id: uuid.UUID, import_id: uuid.UUID, worker: str, *, refund: bool) -> None:
        """Let the job go (`refund`: a clean stop, the attempt does not count)."""
        ...

    async def set_status(
        self,
        org_id: uuid.UUID,
        import_id: uuid.UUID,
        worker: str,
        status: ImportStatus,
        summary: ImportSummary | None = None,
        error: str | None = None,
    ) -> bool: ...
    async def read_chunk(self, org_id: uuid.UUID, import_id: uuid.UUID, offset: int, size: int) -> bytes: ...
    async def staged_through(self, org_id: uuid.UUID, import_id: uuid.UUID) -> int:
        """The last row number staged (0 for none): batches commit whole, so every row up to it is staged."""
        ...

    async def stage(self, org_id: uuid.UUID, import_id: uuid.UUID, rows: list[StagedRow]) -> None: ...
    async def valid_rows(
        self, org_id: uuid.UUID, import_id: uuid.UUID, after_row: int, limit: int
    ) -> list[tuple[int, dict[str, str]]]: ...
    async def settle(self, org_id: uuid.UUID, import_id: uuid.UUID, verdicts: list[RowVerdict]) -> None:
        """Mark still-valid rows applied, or invalid (rejected) with their problems; settled rows stay as they are."""
        ...

    async def counts(self, org_id: uuid.UUID, import_id: uuid.UUID) -> ImportSummary: ...
    async def aircraft_ids(self, org_id: uuid.UUID, tail_numbers: Iterable[str]) -> dict[str, uuid.UUID]: ...
    async def items_by_serial(self, org_id: uuid.UUID, serial_numbers: Iterable[str]) -> dict[str, ExistingItem]: ...
    async def definition_ids(self, org_id: uuid.UUID, names: Iterable[str]) -> dict[str, uuid.UUID]: ...
    async def program_ids(
        self, org_id: uuid.UUID, keys: Iterable[tuple[str, uuid.UUID | None]]
    ) -> Mapping[tuple[str, uuid.UUID | None], tuple[uuid.UUID, str]]:
        """(name, aircraft) -> (program id, its interval type)."""
        ...

    async def unfinished(self, older_than: timedelta, limit: int) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(org, import) of unfinished imports nobody holds and nobody re-enqueued for `older_than` (the redriver)."""
        ...


class RowAlreadySettled(Exception):
    """The row was applied or refused meanwhile (by another attempt): it is not applied again."""


class RowBatch(Protocol):
    """One transaction over some rows of an import: each row's service call runs in a unit of work of its own,
    and `commit()` marks the applied rows `applied` in the same transaction, so each row's change commits
    exactly once, with its mark. Without savepoints a row whose statement fails leaves the batch `aborted`
    (run it again with savepoints, where such a row rolls back alone)."""

    aborted: bool

    async def lock(self, row_numbers: list[int]) -> set[int]:
        """Hold the rows still `valid` among `row_numbers` until the batch ends; only those may be applied."""
        ...

    def for_row(self, row_number: int) -> UnitOfWorkFactory: ...
    def for_rows(self, row_numbers: list[int]) -> UnitOfWorkFactory:
        """One unit of work for several rows changed by one service call (they are applied, or none is)."""
        ...

    async def commit(self) -> None: ...
    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


# (org, import, savepoints) -> a batch to enter
RowBatches = Callable[[uuid.UUID, uuid.UUID, bool], RowBatch]


if TYPE_CHECKING:
    from amss.app.ports import UnitOfWorkFactory
