"""The per-organization policy cache: loads once per TTL, falls back to the default without a policy."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from amss.api.rest.rate_limits import DEFAULT_RATE_LIMIT_PER_MIN, PolicyCache
from amss.domain.organizations import OrgPolicy

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def policy(org_id: uuid.UUID, per_min: int = 100, overrides: dict[str, int] | None = None) -> OrgPolicy:
    return OrgPolicy(
        org_id=org_id,
        retention_interval=timedelta(days=365),
        max_webhook_attempts=5,
        webhook_replay_window_seconds=300,
        api_rate_limit_per_min=per_min,
        api_key_rate_limit_per_min=per_min,
        rate_limits=overrides or {},
        version=1,
        created_at=NOW,
        updated_at=NOW,
    )


class FakePolicies:
    def __init__(self, *policies: OrgPolicy) -> None:
        self.by_org = {p.org_id: p for p in policies}
        self.loads: list[uuid.UUID] = []

    async def load(self, org_id: uuid.UUID) -> OrgPolicy | None:
        self.loads.append(org_id)
        return self.by_org.get(org_id)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_category_override_wins_over_the_organization_limit() -> None:
    org_id = uuid.uuid4()
    cache = PolicyCache(FakePolicies(policy(org_id, 50, {"read": 7})).load)
    assert await cache.limit_per_min(org_id, "read") == 7
    assert await cache.limit_per_min(org_id, "write") == 50


async def test_policy_is_loaded_once_within_the_ttl() -> None:
    org_id = uuid.uuid4()
    policies, clock = FakePolicies(policy(org_id)), FakeClock()
    cache = PolicyCache(policies.load, ttl_seconds=10, clock=clock)
    for category in ("read", "write", "read"):
        await cache.limit_per_min(org_id, category)
        clock.now += 3
    assert policies.loads == [org_id]


async def test_a_changed_policy_applies_once_the_ttl_has_passed() -> None:
    org_id = uuid.uuid4()
    policies, clock = FakePolicies(policy(org_id, 100)), FakeClock()
    cache = PolicyCache(policies.load, ttl_seconds=10, clock=clock)
    assert await cache.limit_per_min(org_id, "read") == 100
    policies.by_org[org_id] = replace(policies.by_org[org_id], rate_limits={"read": 3})
    clock.now += 9.9
    assert await cache.limit_per_min(org_id, "read") == 100
    clock.now += 0.1
    assert await cache.limit_per_min(org_id, "read") == 3


async def test_organizations_are_cached_separately() -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    cache = PolicyCache(FakePolicies(policy(first, 10), policy(second, 20)).load)
    assert await cache.limit_per_min(first, "read") == 10
    assert await cache.limit_per_min(second, "read") == 20


async def test_organization_without_a_policy_gets_the_default_limit() -> None:
    policies = FakePolicies()
    cache = PolicyCache(policies.load)
    org_id = uuid.uuid4()
    assert await cache.limit_per_min(org_id, "read") == DEFAULT_RATE_LIMIT_PER_MIN
    await cache.limit_per_min(org_id, "read")
    assert policies.loads == [org_id]


async def test_cache_stays_bounded() -> None:
    org_ids = [uuid.uuid4() for _ in range(5)]
    policies, clock = FakePolicies(*(policy(org_id) for org_id in org_ids)), FakeClock()
    cache = PolicyCache(policies.load, ttl_seconds=10, clock=clock, max_entries=3)
    for org_id in org_ids:
        await cache.limit_per_min(org_id, "read")
    assert len(cache) <= 3
    # a reload after eviction still answers correctly
    assert await cache.limit_per_min(org_ids[0], "read") == 100
