"""RS256 access tokens: issue and verify, with a `kid` header and the JWKS that publishes the key.

Only RS256 is accepted: `alg: none`, HS256 (including an HMAC keyed with the public key) and
tokens signed by another key are rejected, as are expired or tampered ones.

A token's signature and claims are verified once per process: the claims of the last few thousand
valid tokens are kept (keyed by the whole token string, so a changed byte is a different token),
and only their expiry is checked again on later requests. A refused token is never kept.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from amss.auth.keys import KeyPair, generate_key_pair, public_jwk
from amss.config import Settings
from amss.domain.enums import Role
from amss.domain.errors import Unauthorized

log = logging.getLogger(__name__)
_ALGORITHM = "RS256"
_LEEWAY = timedelta(seconds=5)
VERIFIED_TOKENS_KEPT = 4096
# a job's service credential lives only as long as one run's calls need
SERVICE_TOKEN_TTL = timedelta(seconds=60)


def service_principal_id(job: str) -> uuid.UUID:
    """The fixed subject of a job's service credentials (no user has it: ids are random v4)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"amss:service:{job}")


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    org_id: uuid.UUID
    role: Role
    scopes: tuple[str, ...]
    token_id: str
    expires_at: datetime


@dataclass(frozen=True)
class IssuedAccessToken:
    token: str
    expires_in: int


class TokenService:
    def __init__(
        self, keys: KeyPair, issuer: str, access_ttl: timedelta, clock: Callable[[], float] = time.time
    ) -> None:
        # parsed once: PyJWT would otherwise parse the PEM again for every token
        private_key = serialization.load_pem_private_key(keys.private_pem.encode(), password=None)
        public_key = serialization.load_pem_public_key(keys.public_pem.encode())
        if not isinstance(private_key, rsa.RSAPrivateKey) or not isinstance(public_key, rsa.RSAPublicKey):
            raise ValueError("JWT keys must be an RSA key pair (RS256)")
        self._private_key = private_key
        self._public_key = public_key
        self._jwk = public_jwk(keys.public_pem)
        self._issuer = issuer
        self._access_ttl = access_ttl
        self._clock = clock
        self._verified = functools.lru_cache(maxsize=VERIFIED_TOKENS_KEPT)(self._verify)

    @property
    def key_id(self) -> str:
        return self._jwk["kid"]

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self._jwk]}

    def issue_access(self, user_id: uuid.UUID, org_id: uuid.UUID, role: Role, now: datetime) -> IssuedAccessToken:
        expires = now + self._access_ttl
        claims: dict[str, Any] = {
            "sub": str(user_id),
            "org_id": str(org_id),
            "role": role.value,
            "scopes": [],
            "iat": int(now.timestamp()),
            "exp": int(expires.timestamp()),
            "jti": uuid.uuid4().hex,
            "iss": self._issuer,
        }
        token = jwt.encode(claims, self._private_key, algorithm=_ALGORITHM, headers={"kid": self.key_id})
        return IssuedAccessToken(token, int(self._access_ttl.total_seconds()))

    def issue_service(self, job: str, org_id: uuid.UUID, now: datetime, ttl: timedelta = SERVICE_TOKEN_TTL) -> str:
        """A short-lived service credential for one of the worker's jobs, acting in one organization.

        Its subject is the job's service principal (a fixed id derived from the job's name, no user row),
        its role the least one the job's methods need (scheduler), and its scope `job:<name>`: the gRPC
        front lets such a token call only the methods that name the job (amss/api/grpc/methods.py), and
        records what it does as the job (audit rows: `details.actor {"job": ...}`, the call's request id,
        peer address and user agent)."""
        claims: dict[str, Any] = {
            "sub": str(service_principal_id(job)),
            "org_id": str(org_id),
            "role": Role.SCHEDULER.value,
            "scopes": [f"job:{job}"],
            "iat": int(now.timestamp()),
            "exp": int((now + ttl).timestamp()),
            "jti": uuid.uuid4().hex,
            "iss": self._issuer,
        }
        return jwt.encode(claims, self._private_key, algorithm=_ALGORITHM, headers={"kid": self.key_id})

    def verify_access(self, token: str) -> AccessClaims:
        claims = self._verified(token)
        if self._clock() > claims.expires_at.timestamp() + _LEEWAY.total_seconds():
            raise Unauthorized("access token expired")
        return claims

    def _verify(self, token: str) -> AccessClaims:
        """Signature, algorithm, key id, issuer and the required claims (and expiry, at this moment)."""
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != _ALGORITHM or header.get("kid") != self.key_id:
                raise Unauthorized("invalid access token")
            claims: dict[str, Any] = jwt.decode(
                token,
                self._public_key,
                algorithms=[_ALGORITHM],
                issuer=self._issuer,
                leeway=_LEEWAY,
                options={"require": ["sub", "org_id", "role", "exp", "iat", "jti", "iss"]},
            )
            return AccessClaims(
                user_id=uuid.UUID(claims["sub"]),
                org_id=uuid.UUID(claims["org_id"]),
                role=Role(claims["role"]),
                scopes=tuple(str(scope) for scope in claims.get("scopes") or ()),
                token_id=str(claims["jti"]),
                expires_at=datetime.fromtimestamp(int(claims["exp"])).astimezone(),
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("access token expired") from None
        except (jwt.InvalidTokenError, ValueError, KeyError, TypeError):
            raise Unauthorized("invalid access token") from None


def load_key_pair(settings: Settings) -> KeyPair:
    """The configured pair, or an ephemeral one outside production (tokens die with the process)."""
    if settings.jwt_private_key_pem and settings.jwt_public_key_pem:
        return KeyPair(settings.jwt_private_key_pem, settings.jwt_public_key_pem)
    log.warning("no JWT keys configured: using an ephemeral key pair; tokens will not survive a restart")
    return generate_key_pair()


def new_refresh_token() -> tuple[str, bytes]:
    """A refresh token (32 random bytes, URL-safe) and the SHA-256 hash that is all the database keeps."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
