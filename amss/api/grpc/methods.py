"""Every amss.v1 method as data: its permission in the one RBAC table, rate-limit category and idempotency.

The interceptor reads a call's `MethodSpec` the way REST's middlewares read a `RouteSpec`; a method
without one (health, reflection) is served without a token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from amss.app.programs.generation import GENERATOR_JOB as PROGRAM_GENERATOR_JOB
from amss.auth.rbac import Action, Resource


@dataclass(frozen=True)
class MethodSpec:
    service: str
    method: str
    permission: tuple[Resource, Action]
    category: str
    idempotent: bool = False
    streaming: bool = False
    # only roles that may write something (docs/api.md "Roles": every role but auditor)
    writers_only: bool = False
    # the jobs whose service credential may call this method (a service credential may call nothing else)
    jobs: frozenset[str] = frozenset()

    @property
    def full_name(self) -> str:
        return f"/amss.v1.{self.service}/{self.method}"


_TASKS, _RES, _AUDIT, _PROGRAMS = (
    Resource.MAINTENANCE_TASKS,
    Resource.PART_RESERVATIONS,
    Resource.AUDIT_LOGS,
    Resource.MAINTENANCE_PROGRAMS,
)
_R, _W, _T = Action.READ, Action.WRITE, Action.TRANSITION

METHODS: Final[tuple[MethodSpec, ...]] = (
    MethodSpec("TaskService", "CreateTask", (_TASKS, _W), "write", idempotent=True),
    MethodSpec("TaskService", "TransitionState", (_TASKS, _T), "write", idempotent=True),
    MethodSpec("TaskService", "GetTask", (_TASKS, _R), "read"),
    MethodSpec("TaskService", "BatchCreateTasks", (_TASKS, _W), "write", idempotent=True, streaming=True),
    MethodSpec("InventoryService", "ReserveParts", (_RES, _W), "write", idempotent=True),
    MethodSpec("InventoryService", "ReleaseParts", (_RES, _T), "write", idempotent=True),
    MethodSpec("AuditService", "LogAction", (_AUDIT, _R), "write", idempotent=True, writers_only=True),
    MethodSpec(
        "ProgramService",
        "GenerateTasks",
        (_PROGRAMS, _W),
        "write",
        idempotent=True,
        jobs=frozenset({PROGRAM_GENERATOR_JOB}),
    ),
)
BY_NAME: Final[dict[str, MethodSpec]] = {spec.full_name: spec for spec in METHODS}
SERVICE_NAMES: Final[tuple[str, ...]] = tuple(dict.fromkeys(f"amss.v1.{spec.service}" for spec in METHODS))
