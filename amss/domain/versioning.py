"""Optimistic concurrency: every mutable aggregate carries a version that grows by one per change.

A change is a value that differs from the current one: a PATCH that sends the current values
back changes nothing, so it writes nothing (no new version, no audit row) and answers the
current object. Services pass their PATCH through `changed_values` (or a domain rule that
computes the changes the same way) and skip the write when it is empty. A field sent as null
whose current value is null is no change either, even where null is not a value a client may set
(a part item's expiry is never removed, but an item without one may send its null back).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Final

from amss.domain.errors import PreconditionFailed

# every version column is a Postgres `integer`: an If-Match beyond it names no version that can exist
MAX_VERSION: Final = 2**31 - 1


def check_expected_version(current_version: int, expected_version: int | None) -> None:
    """A client that sent If-Match must have seen the current version."""
    if expected_version is not None and expected_version != current_version:
        raise PreconditionFailed(
            f"If-Match version {expected_version} does not match the current version {current_version}",
            {"current_version": current_version},
        )


def changed_values(current: object, changes: Mapping[str, object]) -> dict[str, object]:
    """The entries of `changes` (attribute -> new value) that differ from `current`'s attributes."""
    return {name: value for name, value in changes.items() if getattr(current, name) != value}


class Unset(Enum):
    """The value of a PATCH field the request left out (None may mean "clear it")."""

    TOKEN = "unset"  # noqa: S105 - a sentinel, not a password


UNSET: Final = Unset.TOKEN
