"""Maintenance tasks: read directly; create, PATCH, transitions and delete through the aircraft's actor."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from amss.actors.partitioning import aircraft_actor
from amss.api.rest.bodies import if_match, json_response, page_body, page_request, path_id, read_json, read_query
from amss.api.rest.context import principal_of
from amss.api.rest.handlers.commands import submit_command
from amss.api.rest.routing import RouteSpec
from amss.api.rest.schemas import Body, Out, Timestamp
from amss.api.rest.services import SERVICES
from amss.app import task_commands
from amss.app.task_views import task_detail_body, task_view
from amss.app.tasks import checked_new
from amss.app.tasks_ports import NewTask, TaskFilter
from amss.auth.rbac import Action, Resource
from amss.domain.enums import ComplianceResult, ReservationState, TaskState, TaskType
from amss.infra.postgres.tasks_repo import TASK_SORTS


class TaskCreate(Body):
    aircraft_id: uuid.UUID
    type: TaskType
    start_time: Timestamp
    end_time: Timestamp
    program_id: uuid.UUID | None = None
    assigned_mechanic_id: uuid.UUID | None = None
    notes: str | None = Field(default=None, max_length=10_000)


class TaskUpdate(Body):
    NULLABLE: ClassVar[frozenset[str]] = frozenset({"assigned_mechanic_id", "notes"})
    type: TaskType | None = None
    start_time: Timestamp | None = None
    end_time: Timestamp | None = None
    assigned_mechanic_id: uuid.UUID | None = None
    notes: str | None = Field(default=None, max_length=10_000)


class TaskTransition(Body):
    state: TaskState
    notes: str | None = Field(default=None, max_length=10_000)
    override: bool = False


class ReservationSummaryOut(Out):
    id: uuid.UUID
    task_id: uuid.UUID
    part_item_id: uuid.UUID
    state: ReservationState
    quantity: int
    version: int
    created_at: datetime
    updated_at: datetime


class ComplianceItemOut(Out):
    """The shape amss.app.task_views.compliance_view renders (a test keeps the two in step)."""

    id: uuid.UUID
    org_id: uuid.UUID
    task_id: uuid.UUID
    description: str
    result: ComplianceResult
    signed_off: bool
    sign_off_user_id: uuid.UUID | None
    sign_off_time: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class TaskOut(Out):
    """The shape amss.app.task_views.task_view renders (a test keeps the two in step)."""

    id: uuid.UUID
    org_id: uuid.UUID
    aircraft_id: uuid.UUID
    program_id: uuid.UUID | None
    type: TaskType
    state: TaskState
    start_time: datetime
    end_time: datetime
    assigned_mechanic_id: uuid.UUID | None
    notes: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class TaskDetailOut(TaskOut):
    """A single task, with its reservations and compliance items (task_detail_view)."""

    reservations: list[ReservationSummaryOut]
    compliance_items: list[ComplianceItemOut]


class TaskQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    aircraft_id: uuid.UUID | None = None
    state: TaskState | None = None
    type: TaskType | None = None
    start_from: Timestamp | None = None
    start_to: Timestamp | None = None


def _json(body: bytes, status: int = 200) -> web.Response:
    return web.Response(status=status, body=body, content_type="application/json")


async def create_task(request: web.Request) -> web.Response:
    body = await read_json(request, TaskCreate)
    new = checked_new(NewTask(**body.model_dump()))
    org_id = principal_of(request).org_id
    payload = task_commands.create_payload(new)
    return await submit_command(request, org_id, aircraft_actor(org_id, new.aircraft_id), task_commands.CREATE, payload)


async def list_tasks(request: web.Request) -> web.Response:
    query = read_query(request, TaskQuery)
    page = page_request(request, TASK_SORTS, default_sort="start_time")
    task_filter = TaskFilter(query.aircraft_id, query.state, query.type, query.start_from, query.start_to)
    result = await request.app[SERVICES].tasks.list_page(principal_of(request).org_id, page, task_filter)
    return json_response(page_body(result, page, task_view))


async def get_task(request: web.Request) -> web.Response:
    detail = await request.app[SERVICES].tasks.get(principal_of(request).org_id, path_id(request))
    return _json(task_detail_body(detail.task, detail.reservations, detail.compliance_items))


async def update_task(request: web.Request) -> web.Response:
    task_id = path_id(request)
    body = await read_json(request, TaskUpdate)
    changes = body.model_dump(mode="json", exclude_unset=True)
    task_commands.parse_patch(changes)  # refuse a malformed change before it becomes a command
    payload = task_commands.update_payload(task_id, changes, if_match(request))
    return await _submit(request, task_id, task_commands.UPDATE, payload)


async def transition_task(request: web.Request) -> web.Response:
    task_id = path_id(request)
    body = await read_json(request, TaskTransition)
    payload = task_commands.transition_payload(task_id, body.state, body.notes, body.override)
    return await _submit(request, task_id, task_commands.TRANSITION, payload)


async def delete_task(request: web.Request) -> web.Response:
    task_id = path_id(request)
    payload = task_commands.delete_payload(task_id, if_match(request))
    return await _submit(request, task_id, task_commands.DELETE, payload)


async def _submit(request: web.Request, task_id: uuid.UUID, command_type: str, payload: dict[str, Any]) -> web.Response:
    """A task's commands run in its aircraft's actor; a task never moves to another aircraft."""
    org_id = principal_of(request).org_id
    aircraft_id = await request.app[SERVICES].tasks.aircraft_of(org_id, task_id)
    return await submit_command(request, org_id, aircraft_actor(org_id, aircraft_id), command_type, payload)


_TASKS, _R, _W, _T = Resource.MAINTENANCE_TASKS, Action.READ, Action.WRITE, Action.TRANSITION
ROUTES = [
    RouteSpec(
        "POST",
        "/api/v1/maintenance-tasks",
        create_task,
        "maintenance_tasks.create",
        "Schedule a maintenance task (a command of the aircraft's actor; overlaps are 409 SCHEDULE_OVERLAP)",
        (_TASKS, _W),
        "write",
        idempotent=True,
        asynchronous=True,
        request_model=TaskCreate,
        response_model=TaskDetailOut,
        status=201,
        tag="maintenance-tasks",
    ),
    RouteSpec(
        "GET",
        "/api/v1/maintenance-tasks",
        list_tasks,
        "maintenance_tasks.list",
        "List the organization's maintenance tasks",
        (_TASKS, _R),
        "read",
        query_model=TaskQuery,
        response_model=TaskOut,
        response_is_list=True,
        sorts=tuple(TASK_SORTS),
        tag="maintenance-tasks",
    ),
    RouteSpec(
        "GET",
        "/api/v1/maintenance-tasks/{id}",
        get_task,
        "maintenance_tasks.get",
        "Read a maintenance task with its part reservations and compliance items",
        (_TASKS, _R),
        "read",
        response_model=TaskDetailOut,
        tag="maintenance-tasks",
    ),
    RouteSpec(
        "PATCH",
        "/api/v1/maintenance-tasks/{id}",
        update_task,
        "maintenance_tasks.update",
        "Change a task's non-state fields; a window change re-checks overlap (a command of the aircraft's actor)",
        (_TASKS, _W),
        "write",
        idempotent=True,
        asynchronous=True,
        request_model=TaskUpdate,
        response_model=TaskDetailOut,
        tag="maintenance-tasks",
    ),
    RouteSpec(
        "PATCH",
        "/api/v1/maintenance-tasks/{id}/state",
        transition_task,
        "maintenance_tasks.transition",
        "Move a task along its state machine: start, complete or cancel (a command of the aircraft's actor)",
        (_TASKS, _T),
        "write",
        idempotent=True,
        asynchronous=True,
        request_model=TaskTransition,
        response_model=TaskDetailOut,
        tag="maintenance-tasks",
    ),
    RouteSpec(
        "DELETE",
        "/api/v1/maintenance-tasks/{id}",
        delete_task,
        "maintenance_tasks.delete",
        "Soft-delete a scheduled or cancelled task, releasing its reservations (a command of the aircraft's actor)",
        (_TASKS, _W),
        "write",
        asynchronous=True,
        status=204,
        tag="maintenance-tasks",
    ),
]
