"""amss.v1.TaskService: the REST task endpoints' commands and reads, and the batch stream for schedulers.

BatchCreateTasks reads the request stream only while fewer than `in_flight` of its commands are
running, and each result waits for room in a queue of the same size, so a 100,000-task stream holds
at most about 2 x `in_flight` requests and results at a time and its commands share the mesh with
everyone else's. Results leave as they complete, each with its request's 0-based index; a failed
one is a result too. Each message is one `write` against the organization's rate limit; with an
`idempotency-key`, message i is idempotent under `<key>#<i>`, so a retried stream replays what
already ran. A client that cancels the stream cancels only the waiting: every command is one
transaction in its actor, applied whole or not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any, Final

import grpc

from amss.api.grpc.call import CallState, current_call
from amss.api.grpc.commands import Commands
from amss.api.grpc.errors import render, rpc_status
from amss.api.grpc.gen import amss_pb2 as pb
from amss.api.grpc.gen import amss_pb2_grpc
from amss.api.grpc.interceptor import IDEMPOTENCY_KEY, AmssInterceptor
from amss.api.grpc.messages import (
    parse_enum,
    parse_id,
    parse_notes,
    parse_optional_id,
    parse_time,
    refuse_nul,
    task_message,
)
from amss.app.commands.base import parse_payload
from amss.app.tasks.commands import CreateTask, TransitionTask
from amss.app.tasks.service import TaskService
from amss.app.tasks.views import task_detail_view
from amss.domain.enums import TaskState, TaskType
from amss.domain.tasks import check_window

DEFAULT_IN_FLIGHT: Final = 32
_BATCH: Final = "/amss.v1.TaskService/BatchCreateTasks"


def create_command(request: pb.CreateTaskRequest) -> CreateTask:
    """The command POST /maintenance-tasks builds, from the message."""
    command = parse_payload(
        CreateTask,
        {
            "aircraft_id": parse_id(request.aircraft_id, "aircraft_id"),
            "type": parse_enum(TaskType, request.type, "type"),
            "start_time": parse_time(request, "start_time"),
            "end_time": parse_time(request, "end_time"),
            "program_id": parse_optional_id(request, "program_id"),
            "assigned_mechanic_id": parse_optional_id(request, "assigned_mechanic_id"),
            "notes": parse_notes(request),
        },
    )
    check_window(command.start_time, command.end_time)
    return command


class TaskServicer(amss_pb2_grpc.TaskServiceServicer):
    def __init__(
        self, tasks: TaskService, commands: Commands, pipeline: AmssInterceptor, in_flight: int = DEFAULT_IN_FLIGHT
    ) -> None:
        self._tasks = tasks
        self._commands = commands
        self._pipeline = pipeline
        self._in_flight = in_flight

    async def CreateTask(self, request: pb.CreateTaskRequest, context: grpc.aio.ServicerContext[Any, Any]) -> pb.Task:
        command = create_command(request)
        return task_message(await self._commands.run(current_call(), command, self._commands.wait_for(context)))

    async def TransitionState(
        self, request: pb.TransitionStateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.Task:
        call = current_call()
        task_id = parse_id(request.task_id, "task_id")
        state = parse_enum(TaskState, request.state, "state")
        notes = parse_notes(request)
        aircraft_id = await self._tasks.aircraft_of(call.require_principal().org_id, task_id)
        command = TransitionTask(
            aircraft_id=aircraft_id, task_id=task_id, state=state, notes=notes, override=request.override
        )
        return task_message(await self._commands.run(call, command, self._commands.wait_for(context)))

    async def GetTask(self, request: pb.GetTaskRequest, context: grpc.aio.ServicerContext[Any, Any]) -> pb.Task:
        call = current_call()
        detail = await self._tasks.get(call.require_principal().org_id, parse_id(request.task_id, "task_id"))
        return task_message(task_detail_view(detail.task, detail.reservations, detail.compliance_items))

    async def BatchCreateTasks(
        self, request_iterator: AsyncIterator[pb.CreateTaskRequest], context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[pb.CreateTaskResult]:
        call = current_call()
        wait = self._commands.wait_for(None)
        slots = asyncio.Semaphore(self._in_flight)
        results: asyncio.Queue[pb.CreateTaskResult | None] = asyncio.Queue(maxsize=self._in_flight)
        running: set[asyncio.Task[None]] = set()

        async def one(index: int, request: pb.CreateTaskRequest) -> None:
            try:
                result = await self._create_one(call, index, request, wait)
                await results.put(result)
            finally:
                slots.release()

        async def read() -> None:
            index = 0
            try:
                async for request in request_iterator:
                    await slots.acquire()
                    task = asyncio.create_task(one(index, request))
                    running.add(task)
                    task.add_done_callback(running.discard)
                    index += 1
                if running:
                    await asyncio.gather(*list(running), return_exceptions=True)
            finally:
                await results.put(None)

        reader = asyncio.create_task(read())
        try:
            while (result := await results.get()) is not None:
                yield result
            await reader  # a broken request stream ends the call with its error
        finally:
            for task in [reader, *running]:
                task.cancel()
            with contextlib.suppress(BaseException):
                await asyncio.gather(reader, *running, return_exceptions=True)

    async def _create_one(
        self, call: CallState, index: int, request: pb.CreateTaskRequest, wait: float
    ) -> pb.CreateTaskResult:
        try:
            if call.spend is not None:
                await call.spend("write")
            refuse_nul(request)

            async def create() -> pb.Task:
                return task_message(await self._commands.run(call, create_command(request), wait))

            key = call.metadata.get(IDEMPOTENCY_KEY)
            if key is None:
                task = await create()
            else:
                task = await self._pipeline.run_idempotent(
                    call, None, f"{key}#{index}", _BATCH, request.SerializeToString(deterministic=True), pb.Task, create
                )
            return pb.CreateTaskResult(index=index, task=task)
        except Exception as exc:  # a refused or failed message is that message's result (INTERNAL reveals nothing)
            return pb.CreateTaskResult(index=index, error=rpc_status(render(exc, call.request_id)))
