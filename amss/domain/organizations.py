"""Organizations (tenants) and their policies: the values, their ranges and defaults."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

RATE_LIMIT_CATEGORIES: Final = ("auth", "read", "write", "import", "export")

# inclusive ranges a policy value must stay within
POLICY_LIMITS: Final[dict[str, tuple[int, int]]] = {
    "max_webhook_attempts": (1, 100),
    "webhook_replay_window_seconds": (1, 86_400),
    "api_rate_limit_per_min": (1, 1_000_000),
    "api_key_rate_limit_per_min": (1, 1_000_000),
}
RETENTION_MIN: Final = timedelta(days=1)
RETENTION_MAX: Final = timedelta(days=36_500)


@dataclass(frozen=True)
class Organization:
    id: uuid.UUID
    name: str
    version: int
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


@dataclass(frozen=True)
class OrgPolicy:
    org_id: uuid.UUID
    retention_interval: timedelta
    max_webhook_attempts: int
    webhook_replay_window_seconds: int
    api_rate_limit_per_min: int
    api_key_rate_limit_per_min: int
    # per-category overrides of api_rate_limit_per_min
    rate_limits: dict[str, int]
    version: int
    created_at: datetime
    updated_at: datetime

    def rate_limit_per_min(self, category: str) -> int:
        return self.rate_limits.get(category, self.api_rate_limit_per_min)


def policy_problems(changes: dict[str, object]) -> dict[str, str]:
    """Field -> problem for every policy value out of its range."""
    problems: dict[str, str] = {}
    for name, (low, high) in POLICY_LIMITS.items():
        value = changes.get(name)
        if isinstance(value, int) and not low <= value <= high:
            problems[name] = f"must be between {low} and {high}"
    retention = changes.get("retention_interval")
    if isinstance(retention, timedelta) and not RETENTION_MIN <= retention <= RETENTION_MAX:
        problems["retention_interval"] = "must be between 1 day and 100 years"
    limits = changes.get("rate_limits")
    if isinstance(limits, dict):
        for category, limit in limits.items():
            if category not in RATE_LIMIT_CATEGORIES:
                problems[f"rate_limits.{category}"] = f"unknown category; one of {', '.join(RATE_LIMIT_CATEGORIES)}"
            elif not isinstance(limit, int) or not 1 <= limit <= 1_000_000:
                problems[f"rate_limits.{category}"] = "must be between 1 and 1000000"
    return problems
