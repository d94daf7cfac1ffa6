"""The role table of docs/api.md ("Roles") as data: which role may do what to which resource.

Actions: R read/list, W create/update/delete, T state transitions, S sign-off, X export,
B basic reports, A advanced reports. Every route declares one (resource, action); the table is
the only place that says who may. Finer rules (own organization only, admin-only creation,
who may cancel or mark used) are checked where the specification states them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from amss.domain.enums import Role


class Action(StrEnum):
    READ = "R"
    WRITE = "W"
    TRANSITION = "T"
    SIGN_OFF = "S"
    EXPORT = "X"
    BASIC_REPORT = "B"
    ADVANCED_REPORT = "A"


class Resource(StrEnum):
    ORGANIZATIONS = "organizations"
    USERS = "users"
    ORG_POLICY = "org_policy"
    AIRCRAFT = "aircraft"
    MAINTENANCE_PROGRAMS = "maintenance_programs"
    MAINTENANCE_TASKS = "maintenance_tasks"
    PARTS = "parts"
    PART_RESERVATIONS = "part_reservations"
    COMPLIANCE_ITEMS = "compliance_items"
    AUDIT_LOGS = "audit_logs"
    REPORTS = "reports"
    IMPORTS = "imports"
    WEBHOOKS = "webhooks"
    COMMANDS = "commands"


def _actions(letters: str) -> frozenset[Action]:
    return frozenset(Action(letter) for letter in letters)


_A, _TA, _S, _M, _AU = Role.ADMIN, Role.TENANT_ADMIN, Role.SCHEDULER, Role.MECHANIC, Role.AUDITOR

# resource -> role -> letters, transcribed from docs/api.md "Roles"
_TABLE: Final[dict[Resource, dict[Role, str]]] = {
    Resource.ORGANIZATIONS: {_A: "RW", _TA: "RW", _S: "R", _M: "R", _AU: "R"},
    Resource.USERS: {_A: "RW", _TA: "RW", _S: "R", _M: "R", _AU: "R"},
    Resource.ORG_POLICY: {_A: "RW", _TA: "RW", _S: "", _M: "", _AU: "R"},
    Resource.AIRCRAFT: {_A: "RW", _TA: "R", _S: "RW", _M: "RW", _AU: "R"},
    Resource.MAINTENANCE_PROGRAMS: {_A: "RW", _TA: "", _S: "RW", _M: "", _AU: "R"},
    Resource.MAINTENANCE_TASKS: {_A: "RWT", _TA: "R", _S: "RWT", _M: "RT", _AU: "R"},
    Resource.PARTS: {_A: "RW", _TA: "R", _S: "RW", _M: "RW", _AU: "R"},
    Resource.PART_RESERVATIONS: {_A: "RWT", _TA: "R", _S: "RWT", _M: "RWT", _AU: "R"},
    Resource.COMPLIANCE_ITEMS: {_A: "RWS", _TA: "", _S: "R", _M: "RWS", _AU: "R"},
    Resource.AUDIT_LOGS: {_A: "RX", _TA: "R", _S: "R", _M: "R", _AU: "RX"},
    Resource.REPORTS: {_A: "BA", _TA: "B", _S: "B", _M: "B", _AU: "BA"},
    Resource.IMPORTS: {_A: "RW", _TA: "RW", _S: "RW", _M: "", _AU: "R"},
    Resource.WEBHOOKS: {_A: "RW", _TA: "RW", _S: "", _M: "", _AU: ""},
    Resource.COMMANDS: {_A: "R", _TA: "R", _S: "R", _M: "R", _AU: "R"},
}

PERMISSIONS: Final[dict[Resource, dict[Role, frozenset[Action]]]] = {
    resource: {role: _actions(letters) for role, letters in row.items()} for resource, row in _TABLE.items()
}


def is_allowed(role: Role, resource: Resource, action: Action) -> bool:
    return action in PERMISSIONS[resource].get(role, frozenset())


def grants_everything_of(new_role: Role, old_role: Role) -> bool:
    """True when `new_role` may do everything `old_role` may; a change that is not is a demotion."""
    return all(row.get(old_role, frozenset()) <= row.get(new_role, frozenset()) for row in PERMISSIONS.values())


def is_writer(role: Role) -> bool:
    """A role that may create, change or delete something (every role but auditor)."""
    return any(Action.WRITE in row.get(role, frozenset()) for row in PERMISSIONS.values())
