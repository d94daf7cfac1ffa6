"""Keyset pagination values shared by every list use case."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class SortKind(Enum):
    """The type of a sort column's values, which a cursor's value must have (its tag in the cursor)."""

    TIME = "t"  # timestamptz: an aware datetime within amss.domain.timestamps' range
    TEXT = "v"  # text, citext or an enum label: a string
    INTEGER = "i"  # integer: a whole number within int32


class SortColumn(str):
    """A column a list may be sorted by: its SQL text (it *is* the string) plus the kind of its values."""

    kind: SortKind
    # an enum column's labels: the only text values a cursor may carry for it
    labels: frozenset[str] | None

    def __new__(cls, column: str, kind: SortKind = SortKind.TIME, labels: Iterable[str] | None = None) -> SortColumn:
        self = super().__new__(cls, column)
        self.kind = kind
        self.labels = frozenset(labels) if labels is not None else None
        return self


@dataclass(frozen=True)
class PageRequest:
    limit: int = DEFAULT_LIMIT
    sort: str = "created_at"
    descending: bool = False
    # the (sort value, id) of the last item of the previous page
    after: tuple[object, uuid.UUID] | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    # the (sort value, id) to continue after, or None on the last page
    next_after: tuple[object, uuid.UUID] | None
