"""Log in, refresh and log out: access tokens plus rotating, family-revocable refresh tokens.

A refresh token is spent by its first use. Presenting a spent one again means it was stolen
or replayed, so the whole family (every token from that login) is revoked — except within
REFRESH_REUSE_GRACE of that first use, when it is a client that lost the response or raced
itself: it gets a fresh pair of the same family, and nothing is revoked. The grace runs from the
first use and is never extended; a revoked family (logout, new password, demotion) stays revoked.
The family's expiry is fixed at login; rotation never extends it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from amss.app.ports import Clock, NewRefreshToken, UnitOfWork, UnitOfWorkFactory
from amss.domain.enums import Role
from amss.domain.errors import Unauthorized, ValidationFailed
from amss.domain.users import User

INVALID_CREDENTIALS = "invalid email or password"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret


@dataclass(frozen=True)
class ClientInfo:
    ip_address: str | None = None
    user_agent: str | None = None


class AccessTokenIssuer(Protocol):
    def issue(self, user_id: uuid.UUID, org_id: uuid.UUID, role: Role, now: datetime) -> tuple[str, int]: ...


class RefreshTokenMinter(Protocol):
    def mint(self) -> tuple[str, bytes]: ...
    def digest(self, token: str) -> bytes: ...


class PasswordVerifier(Protocol):
    async def verify(self, password: str, password_hash: str) -> bool: ...
    async def hash(self, password: str) -> str: ...
    # a stored hash made at another cost than the configured one: re-hashed after a successful login
    def needs_rehash(self, password_hash: str) -> bool: ...

    # a hash no password matches, checked when no account exists so both paths take as long
    @property
    def decoy_hash(self) -> str: ...


class IdentityService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        access_tokens: AccessTokenIssuer,
        refresh_tokens: RefreshTokenMinter,
        passwords: PasswordVerifier,
        refresh_ttl: timedelta,
        clock: Clock,
        *,
        refresh_reuse_grace: timedelta,
    ) -> None:
        self._uow = uow
        self._access_tokens = access_tokens
        self._refresh_tokens = refresh_tokens
        self._passwords = passwords
        self._refresh_ttl = refresh_ttl
        self._clock = clock
        self._refresh_reuse_grace = refresh_reuse_grace

    async def login(self, email: str, password: str, org_id: uuid.UUID | None, client: ClientInfo) -> TokenPair:
        async with self._uow() as uow:
            candidates = await uow.users.login_candidates(email, org_id)
            if not candidates:
                await self._passwords.verify(password, self._passwords.decoy_hash)
            matching = [c for c in candidates if await self._passwords.verify(password, c.password_hash)]
            if not matching:
                raise Unauthorized(INVALID_CREDENTIALS)
            if len(matching) > 1:
                raise ValidationFailed.on_field("org_id", "required: this account exists in several organizations")
            user, stored_hash = matching[0].user, matching[0].password_hash
            now = self._clock()
            await uow.users.record_login(user, now)
            if self._passwords.needs_rehash(stored_hash):
                # one cost for every account, so no login's timing stands out (seeded or older hashes)
                await uow.users.replace_password_hash(user, stored_hash, await self._passwords.hash(password))
            pair = await self._issue(uow, user, uuid.uuid4(), now + self._refresh_ttl, now, client)
            await uow.commit()
        return pair

    async def refresh(self, refresh_token: str, client: ClientInfo) -> TokenPair:
        problem: str | None = None
        async with self._uow() as uow:
            record = await uow.refresh_tokens.lock_by_hash(self._refresh_tokens.digest(refresh_token))
            now = self._clock()
            if record is None:
                raise Unauthorized("invalid refresh token")
            if record.revoked_at is not None:
                raise Unauthorized("refresh token revoked")
            # within the grace a spent token is a retry: it gets a pair of its own and does not spend again
            retried = record.used_at is not None and now - record.used_at < self._refresh_reuse_grace
            if record.used_at is not None and not retried:
                problem = "refresh token reuse detected: every session of this login is revoked"
            elif record.expires_at <= now:
                raise Unauthorized("refresh token expired")
            user = None if problem else await uow.users.get(record.org_id, record.user_id)
            if problem is None and user is None:
                problem = "the user no longer exists"
            if problem is not None or user is None:
                await uow.refresh_tokens.revoke_family(record.family_id, now)
                await uow.commit()
                raise Unauthorized(problem or "invalid refresh token")
            replaces = None if retried else record.id
            pair = await self._issue(uow, user, record.family_id, record.expires_at, now, client, replaces=replaces)
            await uow.commit()
        return pair

    async def logout(self, refresh_token: str) -> None:
        """Revoke the token's family; an unknown token is not an error (logout is idempotent)."""
        async with self._uow() as uow:
            record = await uow.refresh_tokens.lock_by_hash(self._refresh_tokens.digest(refresh_token))
            if record is not None:
                await uow.refresh_tokens.revoke_family(record.family_id, self._clock())
                await uow.commit()

    async def _issue(
        self,
        uow: UnitOfWork,
        user: User,
        family_id: uuid.UUID,
        family_expires_at: datetime,
        now: datetime,
        client: ClientInfo,
        replaces: uuid.UUID | None = None,
    ) -> TokenPair:
        refresh_token, token_hash = self._refresh_tokens.mint()
        token_id = await uow.refresh_tokens.add(
            NewRefreshToken(
                org_id=user.org_id,
                user_id=user.id,
                family_id=family_id,
                token_hash=token_hash,
                issued_at=now,
                expires_at=family_expires_at,
                ip_address=client.ip_address,
                user_agent=client.user_agent,
            )
        )
        if replaces is not None:
            await uow.refresh_tokens.mark_used(replaces, token_id, now)
        access_token, expires_in = self._access_tokens.issue(user.id, user.org_id, user.role, now)
        return TokenPair(access_token, refresh_token, expires_in)
