"""IdentityService rules with in-memory ports: decoy verification, rotation, reuse (and its grace), expiry."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from amss.app.identity import ClientInfo, IdentityService
from amss.domain.enums import Role
from amss.domain.errors import Unauthorized, ValidationFailed
from tests.unit.fakes import (
    CountingPasswords,
    FakeAccessTokens,
    FakeClock,
    FakeRefreshMinter,
    FakeUnitOfWork,
)

CLIENT = ClientInfo("10.0.0.1", "pytest")
GRACE = timedelta(seconds=10)
World = tuple[IdentityService, FakeUnitOfWork, CountingPasswords, FakeClock]


def make_world(grace: timedelta) -> World:
    uow, passwords, clock = FakeUnitOfWork(), CountingPasswords(), FakeClock()
    service = IdentityService(
        uow, FakeAccessTokens(), FakeRefreshMinter(), passwords, timedelta(days=7), clock, refresh_reuse_grace=grace
    )
    return service, uow, passwords, clock


@pytest.fixture
def world() -> World:
    return make_world(GRACE)


async def test_unknown_email_still_costs_one_password_verification(world: World) -> None:
    service, _, passwords, _ = world
    with pytest.raises(Unauthorized):
        await service.login("ghost@example.test", "whatever-password", None, CLIENT)
    assert passwords.verified == [CountingPasswords.decoy_hash]


async def test_wrong_password_costs_one_verification_and_gives_the_same_error(world: World) -> None:
    service, uow, passwords, _ = world
    uow.users.put(uuid.uuid4(), "a@example.test", Role.MECHANIC, "hash:right-password")
    with pytest.raises(Unauthorized) as wrong:
        await service.login("a@example.test", "wrong-password", None, CLIENT)
    with pytest.raises(Unauthorized) as unknown:
        await service.login("b@example.test", "wrong-password", None, CLIENT)
    assert wrong.value.message == unknown.value.message
    assert len(passwords.verified) == 2


async def test_ambiguous_email_asks_for_org_id_only_after_a_correct_password(world: World) -> None:
    service, uow, _, _ = world
    for _ in range(2):
        uow.users.put(uuid.uuid4(), "twin@example.test", Role.MECHANIC, "hash:pw-123456789")
    with pytest.raises(Unauthorized):
        await service.login("twin@example.test", "wrong", None, CLIENT)
    with pytest.raises(ValidationFailed):
        await service.login("twin@example.test", "pw-123456789", None, CLIENT)


async def test_rotation_keeps_family_and_expiry_and_spends_the_old_token(world: World) -> None:
    service, uow, _, clock = world
    user = uow.users.put(uuid.uuid4(), "a@example.test", Role.SCHEDULER, "hash:pw-123456789")
    first = await service.login("a@example.test", "pw-123456789", None, CLIENT)
    clock.now += timedelta(days=2)
    second = await service.refresh(first.refresh_token, CLIENT)
    rows = list(uow.refresh_tokens.rows.values())
    assert {row["token"].family_id for row in rows} == {rows[0]["token"].family_id}
    assert {row["token"].expires_at for row in rows} == {rows[0]["token"].expires_at}
    assert rows[0]["used_at"] == clock.now
    assert second.access_token == f"access:{user.id}:scheduler"


async def test_reuse_revokes_the_family_and_commits_the_revocation(world: World) -> None:
    service, uow, _, clock = world
    uow.users.put(uuid.uuid4(), "a@example.test", Role.SCHEDULER, "hash:pw-123456789")
    first = await service.login("a@example.test", "pw-123456789", None, CLIENT)
    second = await service.refresh(first.refresh_token, CLIENT)
    clock.now += GRACE  # the grace is over: this is reuse
    commits = uow.commits
    with pytest.raises(Unauthorized, match="reuse"):
        await service.refresh(first.refresh_token, CLIENT)
    assert uow.commits == commits + 1
    assert all(row["revoked_at"] is not None for row in uow.refresh_tokens.rows.values())
    with pytest.raises(Unauthorized):
        await service.refresh(second.refresh_token, CLIENT)


async def test_refresh_after_family_expiry_is_refused(world: World) -> None:
    service, uow, _, clock = world
    uow.users.put(uuid.uuid4(), "a@example.test", Role.SCHEDULER, "hash:pw-123456789")
    first = await service.login("a@example.test", "pw-123456789", None, CLIENT)
    clock.now += timedelta(days=7)
    with pytest.raises(Unauthorized, match="expired"):
        await service.refresh(first.refresh_token, CLIENT)


async def test_refresh_rereads_the_user_role(world: World) -> None:
    service, uow, _, _ = world
    user = uow.users.put(uuid.uuid4(), "a@example.test", Role.MECHANIC, "hash:pw-123456789")
    first = await service.login("a@example.test", "pw-123456789", None, CLIENT)
    await uow.users.update(user, {"role": Role.ADMIN})
    second = await service.refresh(first.refresh_token, CLIENT)
    assert second.access_token.endswith(":admin")


async def test_a_login_rehashes_a_hash_of_another_cost_and_only_after_the_right_password(world: World) -> None:
    service, uow, _, _ = world
    user = uow.users.put(uuid.uuid4(), "a@example.test", Role.SCHEDULER, "old:pw-123456789")
    with pytest.raises(Unauthorized):
        await service.login("a@example.test", "wrong-password", None, CLIENT)
    assert uow.users.rows[user.id][1] == "old:pw-123456789"
    await service.login("a@example.test", "pw-123456789", None, CLIENT)
    assert uow.users.rows[user.id][1] == "hash:pw-123456789"
    assert uow.users.rows[user.id][0].version == user.version


def _live(uow: FakeUnitOfWork) -> int:
    return sum(1 for row in uow.refresh_tokens.rows.values() if row["revoked_at"] is None)


async def test_a_spent_token_within_the_grace_gets_a_fresh_pair_of_its_family(world: World) -> None:
    service, uow, _, clock = world
    uow.users.put(uuid.uuid4(), "a@example.test", Role.SCHEDULER, "hash:pw-123456789")
    first = await service.login("a@example.test", "pw-123456789", None, CLIENT)
    second = await service.refresh(first.refresh_token, CLIENT)
    spent_at = clock.now
    clock.now += GRACE - timedelta(milliseconds=1)
    retried = await service.refresh(first.refresh_token, CLIENT)
    assert retried.refresh_token not in (first.refresh_token, second.refresh_token)
    rows = list(uow.refresh_tokens.rows.values())
    assert len(rows) == 3 and _live(uow) == 3
    assert {row["token"].family_id for row in rows} == {rows[0]["token"].family_id}
    # the grace runs from the first use and a retry does not extend it
    assert rows[0]["used_at"] == spent_at
    # both pairs go on rotating
    await service.refresh(second.refresh_token, CLIENT)
    await service.refresh(retried.refresh_token, CLIENT)
    assert _live(uow) == 5


async def test_a_spent_token_past_the_grace_revokes_the_family_even_after_retries(world: World) -> None:
    service, uow, _, clock = world
    uow.users.put(uuid.uuid4(), "a@example.test", Role.SCHEDULER, "hash:pw-123456789")
    first = await service.login("a@example.test", "pw-123456789", None, CLIENT)
    await service.refresh(first.refresh_token, CLIENT)
    clock.now += timedelta(seconds=5)
    retried = await service.refresh(first.refresh_token, CLIENT)
    clock.now += timedelta(seconds=5)
    with pytest.raises(Unauthorized, match="reuse"):
        await service.refresh(first.refresh_token, CLIENT)
    assert _live(uow) == 0
    with pytest.raises(Unauthorized, match="revoked"):
        await service.refresh(retried.refresh_token, CLIENT)


async def test_a_grace_of_zero_revokes_on_the_first_reuse() -> None:
    service, uow, _, _ = make_world(timedelta(0))
    uow.users.put(uuid.uuid4(), "a@example.test", Role.SCHEDULER, "hash:pw-123456789")
    first = await service.login("a@example.test", "pw-123456789", None, CLIENT)
    await service.refresh(first.refresh_token, CLIENT)
    with pytest.raises(Unauthorized, match="reuse"):
        await service.refresh(first.refresh_token, CLIENT)
    assert _live(uow) == 0


async def test_no_grace_after_logout(world: World) -> None:
    service, uow, _, _ = world
    uow.users.put(uuid.uuid4(), "a@example.test", Role.SCHEDULER, "hash:pw-123456789")
    first = await service.login("a@example.test", "pw-123456789", None, CLIENT)
    second = await service.refresh(first.refresh_token, CLIENT)
    await service.logout(second.refresh_token)
    with pytest.raises(Unauthorized, match="revoked"):
        await service.refresh(first.refresh_token, CLIENT)
    assert _live(uow) == 0


async def test_no_grace_for_a_deleted_user(world: World) -> None:
    service, uow, _, clock = world
    user = uow.users.put(uuid.uuid4(), "a@example.test", Role.SCHEDULER, "hash:pw-123456789")
    first = await service.login("a@example.test", "pw-123456789", None, CLIENT)
    await service.refresh(first.refresh_token, CLIENT)
    await uow.users.soft_delete(user, clock.now)
    with pytest.raises(Unauthorized):
        await service.refresh(first.refresh_token, CLIENT)
    assert _live(uow) == 0
