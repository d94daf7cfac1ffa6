"""Maintenance tasks: read directly; create, PATCH, transitions and delete through the aircraft's actor."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from amss.api.rest.bodies import if_match, json_response, page_body, page_request, path_id, read_json, read_query
from amss.api.rest.context import principal_of
from amss.api.rest.handlers.commands import send_command
from amss.api.rest.routing import RouteSpec
from amss.api.rest.schemas import Body, Out, Timestamp
from amss.api.rest.services import SERVICES
from amss.app.commands.base import parse_payload
from amss.app.sorts import TASK_SORTS
from amss.app.tasks.commands import CreateTask, DeleteTask, TaskChanges, TransitionTask, UpdateTask
from amss.app.tasks.ports import TaskFilter
from amss.app.tasks.views import task_detail_body, task_view
from amss.auth.rbac import Action, Resource
from amss.domain.enums import ComplianceResult, ReservationState, TaskState, TaskType
from amss.domain.tasks import check_window


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
    """The shape amss.app.tasks.views.compliance_view renders (a test keeps the two in step)."""

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
    """The shape amss.app.tasks.views.task_view renders (a test keeps the two in step)."""

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
    command = CreateTask(**body.model_dump())
    check_window(command.start_time, command.end_time)
    return await send_command(request, command)


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
    changes = parse_payload(TaskChanges, body.model_dump(exclude_unset=True))  # refuses a null type or time
    expected_version = if_match(request)
    aircraft_id = await _aircraft_of(request, task_id)
    return await send_command(
        request,
        UpdateTask(aircraft_id=aircraft_id, task_id=task_id, changes=changes, expected_version=expected_version),
    )


async def transition_task(request: web.Request) -> web.Response:
    task_id = path_id(request)
    body = await read_json(request, TaskTransition)
    aircraft_id = await _aircraft_of(request, task_id)
    return await send_command(request, TransitionTask(aircraft_id=aircraft_id, task_id=task_id, **body.model_dump()))


async def delete_task(request: web.Request) -> web.Response:
    task_id = path_id(request)
    expected_version = if_match(request)
    aircraft_id = await _aircraft_of(request, task_id)
    return await send_command(
        request, DeleteTask(aircraft_id=aircraft_id, task_id=task_id, expected_version=expected_version)
    )


async def _aircraft_of(request: web.Request, task_id: uuid.UUID) -> uuid.UUID:
    """A task's commands run in its aircraft's actor; a task never moves to another aircraft."""
    return await request.app[SERVICES].tasks.aircraft_of(principal_of(request).org_id, task_id)


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
