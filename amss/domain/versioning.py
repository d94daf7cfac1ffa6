"""Optimistic concurrency: every mutable aggregate carries a version that grows by one per change."""

from __future__ import annotations

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
