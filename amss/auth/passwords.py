"""Password hashing with bcrypt; verification runs in a thread so the event loop keeps serving.

Every hash is made at the one configured cost (BCRYPT_ROUNDS): callers pass it, there is no default,
so no account's login takes measurably longer or shorter than another's (or than the decoy's).
"""

from __future__ import annotations

import asyncio

import bcrypt

MIN_PASSWORD_LENGTH = 12
# bcrypt only reads the first 72 bytes; longer passwords are refused rather than truncated silently
MAX_PASSWORD_BYTES = 72


def password_problem(password: str) -> str | None:
    """Why a password is unacceptable, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        return f"must be at most {MAX_PASSWORD_BYTES} bytes"
    return None


def hash_password(password: str, rounds: int) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()


def hash_cost(password_hash: str) -> int | None:
    """The cost of a modular-crypt bcrypt hash (`$2b$12$...` -> 12), or None when it is not one."""
    parts = password_hash.split("$")
    if len(parts) != 4 or parts[0] or not parts[1].startswith("2") or not parts[2].isdigit():
        return None
    return int(parts[2])


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode()[:MAX_PASSWORD_BYTES], password_hash.encode())
    except ValueError:
        return False


async def hash_password_async(password: str, rounds: int) -> str:
    return await asyncio.to_thread(hash_password, password, rounds)


async def verify_password_async(password: str, password_hash: str) -> bool:
    return await asyncio.to_thread(verify_password, password, password_hash)
