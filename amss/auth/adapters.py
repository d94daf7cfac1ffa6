"""Adapters that give the identity and user services their password and token ports."""

from __future__ import annotations

import uuid
from datetime import datetime

from amss.auth.passwords import hash_cost, hash_password, hash_password_async, verify_password_async
from amss.auth.tokens import TokenService, hash_refresh_token, new_refresh_token
from amss.domain.enums import Role


class BcryptPasswords:
    def __init__(self, rounds: int) -> None:
        self._rounds = rounds
        # same cost as real hashes, so a login for an unknown e-mail takes as long as a wrong password
        self._decoy_hash = hash_password(uuid.uuid4().hex, rounds)

    @property
    def decoy_hash(self) -> str:
        return self._decoy_hash

    async def hash(self, password: str) -> str:
        return await hash_password_async(password, self._rounds)

    async def verify(self, password: str, password_hash: str) -> bool:
        return await verify_password_async(password, password_hash)

    def needs_rehash(self, password_hash: str) -> bool:
        """A stored hash made at another cost than BCRYPT_ROUNDS (seeded or set before the setting changed)."""
        return hash_cost(password_hash) != self._rounds


class JwtAccessTokens:
    def __init__(self, tokens: TokenService) -> None:
        self._tokens = tokens

    def issue(self, user_id: uuid.UUID, org_id: uuid.UUID, role: Role, now: datetime) -> tuple[str, int]:
        issued = self._tokens.issue_access(user_id, org_id, role, now)
        return issued.token, issued.expires_in


class OpaqueRefreshTokens:
    def mint(self) -> tuple[str, bytes]:
        return new_refresh_token()

    def digest(self, token: str) -> bytes:
        return hash_refresh_token(token)
