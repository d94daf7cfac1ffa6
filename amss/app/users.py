"""Users of an organization: create, read, list, update, soft delete, with the admin-protection rules.

A role change, a new password or a delete ends the user's refresh-token families, so the next
refresh fails and a new login shows the new role.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Protocol

from amss.app.paging import Page, PageRequest
from amss.app.ports import Clock, UnitOfWorkFactory
from amss.domain.audit import audit_entry
from amss.domain.enums import AuditAction, Role
from amss.domain.errors import Conflict, NotFound
from amss.domain.principal import Actor, Principal
from amss.domain.users import User, check_may_change, check_may_create, revokes_sessions
from amss.domain.versioning import check_expected_version


class PasswordHasher(Protocol):
    async def hash(self, password: str) -> str: ...


class UserService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        passwords: PasswordHasher,
        clock: Clock,
        is_demotion: Callable[[Role, Role], bool],
    ) -> None:
        self._uow = uow
        self._passwords = passwords
        self._clock = clock
        self._is_demotion = is_demotion

    async def create(self, actor: Actor, principal: Principal, email: str, role: Role, password: str) -> User:
        check_may_create(principal.role, role)
        password_hash = await self._passwords.hash(password)
        async with self._uow() as uow:
            user = await uow.users.add(principal.org_id, email, role, password_hash)
            await uow.audit.add(
                audit_entry(
                    actor,
                    user.org_id,
                    "user",
                    user.id,
                    AuditAction.CREATE,
                    user.version,
                    {"email": user.email, "role": user.role.value},
                )
            )
            await uow.commit()
        return user

    async def get(self, principal: Principal, user_id: uuid.UUID) -> User:
        async with self._uow() as uow:
            user = await uow.users.get(principal.org_id, user_id)
        if user is None:
            raise NotFound("user not found")
        return user

    async def list_page(
        self, principal: Principal, page: PageRequest, role: Role | None, email: str | None
    ) -> Page[User]:
        async with self._uow() as uow:
            return await uow.users.list_page(principal.org_id, page, role, email)

    async def update(
        self,
        actor: Actor,
        principal: Principal,
        user_id: uuid.UUID,
        email: str | None,
        role: Role | None,
        password: str | None,
        expected_version: int | None,
    ) -> User:
        password_hash = await self._passwords.hash(password) if password is not None else None
        async with self._uow() as uow:
            current = await uow.users.get(principal.org_id, user_id, for_update=True)
            if current is None:
                raise NotFound("user not found")
            check_may_change(principal.role, current, role)
            check_expected_version(current.version, expected_version)
            changes: dict[str, object] = {}
            if email is not None and email.lower() != current.email.lower():
                changes["email"] = email
            if role is not None and role is not current.role:
                changes["role"] = role
            if password_hash is not None:
                changes["password_hash"] = password_hash
            if not changes:
                return current
            updated = await uow.users.update(current, changes)
            demoted = role is not None and role is not current.role and self._is_demotion(current.role, role)
            if revokes_sessions(password_changed=password_hash is not None, demoted=demoted):
                await uow.refresh_tokens.revoke_user(current.org_id, current.id, self._clock())
            shown = {key: ("changed" if key == "password_hash" else str(value)) for key, value in changes.items()}
            shown = {("password" if key == "password_hash" else key): value for key, value in shown.items()}
            await uow.audit.add(
                audit_entry(
                    actor, updated.org_id, "user", updated.id, AuditAction.UPDATE, updated.version, {"changes": shown}
                )
            )
            await uow.commit()
        return updated

    async def delete(
        self, actor: Actor, principal: Principal, user_id: uuid.UUID, expected_version: int | None
    ) -> None:
        async with self._uow() as uow:
            current = await uow.users.get(principal.org_id, user_id, for_update=True)
            if current is None:
                raise NotFound("user not found")
            check_may_change(principal.role, current, None)
            if current.id == principal.user_id:
                raise Conflict("you cannot delete your own account")
            check_expected_version(current.version, expected_version)
            now = self._clock()
            deleted = await uow.users.soft_delete(current, now)
            await uow.refresh_tokens.revoke_user(current.org_id, current.id, now)
            await uow.audit.add(
                audit_entry(
                    actor,
                    deleted.org_id,
                    "user",
                    deleted.id,
                    AuditAction.DELETE,
                    deleted.version,
                    {"email": deleted.email},
                )
            )
            await uow.commit()
