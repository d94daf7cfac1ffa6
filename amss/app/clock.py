"""The one system clock: `utc_now`, which the composition root injects wherever a `Clock` is taken."""

from __future__ import annotations

from datetime import UTC, datetime

from amss.app.ports import Clock

__all__ = ["Clock", "utc_now"]


def utc_now() -> datetime:
    return datetime.now(UTC)
