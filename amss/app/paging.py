"""Keyset pagination values shared by every list use case."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


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
