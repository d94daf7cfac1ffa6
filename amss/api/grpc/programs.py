"""amss.v1.ProgramService.GenerateTasks: what the 6-hourly generator would create now, for one program,
one aircraft or the whole organization (amss/app/program_runs.py), as the caller or as the worker's job."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc

from amss.api.grpc.call import current_call
from amss.api.grpc.commands import Commands
from amss.api.grpc.gen import amss_pb2 as pb
from amss.api.grpc.gen import amss_pb2_grpc
from amss.api.grpc.messages import parse_optional_id, task_message
from amss.app.ports import Clock, UnitOfWorkFactory
from amss.app.program_runs import generate_for_org


class ProgramServicer(amss_pb2_grpc.ProgramServiceServicer):
    def __init__(self, uow: UnitOfWorkFactory, commands: Commands, clock: Clock, lead_time: timedelta) -> None:
        self._uow = uow
        self._commands = commands
        self._clock = clock
        self._lead_time = lead_time

    async def GenerateTasks(
        self, request: pb.GenerateTasksRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GenerateTasksResponse:
        call = current_call()
        run = await generate_for_org(
            self._uow,
            self._commands.sender,
            call.actor(),
            call.require_principal().org_id,
            lead_time=self._lead_time,
            clock=self._clock,
            wait=self._commands.wait_for(context),
            program_id=parse_optional_id(request, "program_id"),
            aircraft_id=parse_optional_id(request, "aircraft_id"),
        )
        return pb.GenerateTasksResponse(tasks=[task_message(view) for view in run.tasks], skipped=run.skipped)
