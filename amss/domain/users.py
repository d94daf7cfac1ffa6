"""Users and the rules for who may create, change or delete whom."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from amss.domain.enums import Role
from amss.domain.errors import Forbidden


@dataclass(frozen=True)
class User:
    id: uuid.UUID
    org_id: uuid.UUID
    email: str
    role: Role
    version: int
    created_at: datetime
    updated_at: datetime
    last_login: datetime | None = None
    deleted_at: datetime | None = None


@dataclass(frozen=True)
class Credentials:
    """What login needs about a user; never leaves the identity service."""

    user: User
    password_hash: str


def check_may_create(actor_role: Role, new_role: Role) -> None:
    if actor_role is not Role.ADMIN and new_role is Role.ADMIN:
        raise Forbidden("only an admin can create an admin")


def check_may_change(actor_role: Role, target: User, new_role: Role | None) -> None:
    """A tenant_admin may neither touch an admin nor promote anyone to admin."""
    if actor_role is Role.ADMIN:
        return
    if target.role is Role.ADMIN:
        raise Forbidden("only an admin can change or delete an admin")
    if new_role is Role.ADMIN:
        raise Forbidden("only an admin can promote a user to admin")


def revokes_sessions(password_changed: bool, demoted: bool) -> bool:
    """A new password or a demotion (the new role lacks a permission the old one had) ends the
    user's refresh-token families; after a promotion the next refresh carries the new role."""
    return password_changed or demoted
