"""Who is acting: the authenticated principal, the organization it acts in, and the request facts.

An admin is system-wide and may act for another organization; every other role acts only in
its own. Audit rows name the acting user only when that user belongs to the organization the
row is about; otherwise `details.actor` says who acted.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from amss.domain.enums import Role


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    home_org_id: uuid.UUID
    role: Role
    scopes: tuple[str, ...] = ()
    # the organization this request acts in: home_org_id, or X-Org-ID for an admin
    org_id: uuid.UUID = field(default=uuid.UUID(int=0))

    def __post_init__(self) -> None:
        if self.org_id == uuid.UUID(int=0):
            object.__setattr__(self, "org_id", self.home_org_id)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def acts_for_other_org(self) -> bool:
        return self.org_id != self.home_org_id


@dataclass(frozen=True)
class ImportOrigin:
    """The CSV import row a change comes from: its audit rows name both."""

    import_id: uuid.UUID
    row_number: int

    def details(self) -> dict[str, Any]:
        return {"import": {"import_id": str(self.import_id), "row_number": self.row_number}}


@dataclass(frozen=True)
class Actor:
    """Everything an audit row records about who acted and from where."""

    principal: Principal | None = None
    job: str | None = None
    request_id: uuid.UUID | None = None
    ip_address: str | None = None
    user_agent: str | None = None
    # set when the change applies a row of a CSV import
    origin: ImportOrigin | None = None

    @classmethod
    def for_job(cls, job: str) -> Actor:
        return cls(job=job)

    def audit_user_id(self, org_id: uuid.UUID) -> uuid.UUID | None:
        if self.principal is not None and self.principal.home_org_id == org_id:
            return self.principal.user_id
        return None

    def audit_details(self, org_id: uuid.UUID) -> dict[str, Any]:
        """`{"actor": …}` when the audit row cannot name the actor through user_id, else {}; plus
        `{"import": {"import_id", "row_number"}}` for a change that applies an import row."""
        origin = self.origin.details() if self.origin is not None else {}
        if self.principal is None:
            return {"actor": {"job": self.job or "system"}, **origin}
        if self.principal.home_org_id != org_id:
            return {
                "actor": {
                    "user_id": str(self.principal.user_id),
                    "org_id": str(self.principal.home_org_id),
                    "role": self.principal.role.value,
                },
                **origin,
            }
        return origin
