"""amss.v1.InventoryService: reserve several part items for one task, or release several reservations,
each all or nothing, as one command (amss/app/commands/parts.py: ReserveParts, ReleaseParts) that
applies every item under the same rules, locks and audit as REST's one-item commands."""

from __future__ import annotations

import uuid
from typing import Any

import grpc

from amss.api.grpc.call import current_call
from amss.api.grpc.commands import Commands
from amss.api.grpc.gen import amss_pb2 as pb
from amss.api.grpc.gen import amss_pb2_grpc
from amss.api.grpc.messages import parse_id, reservation_message
from amss.app.parts.commands import MAX_PARTS_PER_CALL, ReleaseParts, ReserveParts
from amss.app.parts.service import PartsService
from amss.app.tasks.service import TaskService
from amss.domain.errors import ValidationFailed


def _ids(values: Any, field: str) -> list[uuid.UUID]:
    """1 to MAX_PARTS_PER_CALL distinct UUIDs."""
    if not values:
        raise ValidationFailed.on_field(field, "at least one id is required")
    if len(values) > MAX_PARTS_PER_CALL:
        raise ValidationFailed.on_field(field, f"at most {MAX_PARTS_PER_CALL} ids per call")
    ids = [parse_id(value, field) for value in values]
    if len(set(ids)) != len(ids):
        raise ValidationFailed.on_field(field, "an id is repeated")
    return ids


class InventoryServicer(amss_pb2_grpc.InventoryServiceServicer):
    def __init__(self, tasks: TaskService, parts: PartsService, commands: Commands) -> None:
        self._tasks = tasks
        self._parts = parts
        self._commands = commands

    async def ReserveParts(
        self, request: pb.ReservePartsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ReservePartsResponse:
        call = current_call()
        task_id = parse_id(request.task_id, "task_id")
        items = _ids(request.part_item_ids, "part_item_ids")
        aircraft_id = await self._tasks.aircraft_of(call.require_principal().org_id, task_id)
        command = ReserveParts(aircraft_id=aircraft_id, task_id=task_id, part_item_ids=tuple(sorted(items)))
        view = await self._commands.run(call, command, self._commands.wait_for(context))
        return pb.ReservePartsResponse(reservations=[reservation_message(item) for item in view["reservations"]])

    async def ReleaseParts(
        self, request: pb.ReleasePartsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ReleasePartsResponse:
        call = current_call()
        org_id = call.require_principal().org_id
        reservations = [
            await self._parts.get_reservation(org_id, rid) for rid in _ids(request.reservation_ids, "reservation_ids")
        ]
        releases = tuple(sorted(((r.id, r.part_item_id) for r in reservations), key=lambda pair: (pair[1], pair[0])))
        command = ReleaseParts(part_item_id=releases[0][1], releases=releases)
        view = await self._commands.run(call, command, self._commands.wait_for(context))
        return pb.ReleasePartsResponse(reservations=[reservation_message(item) for item in view["reservations"]])
