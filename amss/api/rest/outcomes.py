"""A command's outcome as REST answers it: status, `Location` and body, derived from the command type.

The same rendering serves the synchronous answer and `result` of `GET /api/v1/commands/{id}`, so a
poll shows byte for byte the body the synchronous call gave. Nothing HTTP is stored with a command.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Final

import orjson

from amss.api.error_shape import error_body
from amss.app.aircraft.commands import DeleteAircraft
from amss.app.commands.outcomes import Outcome, Succeeded
from amss.app.error_codes import http_status
from amss.app.parts.commands import DeletePartItem, ReservePart
from amss.app.programs.commands import GenerateProgramTask
from amss.app.tasks.commands import CreateComplianceItem, CreateTask, DeleteTask

# command types that create a resource: 201 with the new resource's URL (when they changed anything)
CREATED_UNDER: Final[dict[str, str]] = {
    CreateTask.TYPE: "/api/v1/maintenance-tasks",
    CreateComplianceItem.TYPE: "/api/v1/compliance-items",
    ReservePart.TYPE: "/api/v1/part-reservations",
    GenerateProgramTask.TYPE: "/api/v1/maintenance-tasks",
}
# command types that delete their resource: 204, no body
DELETES: Final = frozenset({DeleteTask.TYPE, DeleteAircraft.TYPE, DeletePartItem.TYPE})


@dataclass(frozen=True)
class HttpResult:
    status_code: int
    body: bytes  # b"": no body (204)
    headers: dict[str, str] = field(default_factory=dict)


def render_outcome(command_type: str, outcome: Outcome, request_id: uuid.UUID | None) -> HttpResult:
    if not isinstance(outcome, Succeeded):
        error = outcome.error
        rid = str(request_id) if request_id else ""
        return HttpResult(http_status(error.code), error_body(error.code, error.message, rid, error.details))
    if command_type in DELETES:
        return HttpResult(204, b"")
    body = orjson.dumps(outcome.view)
    created_under = CREATED_UNDER.get(command_type)
    if created_under is not None and outcome.changed and outcome.view is not None:
        return HttpResult(201, body, {"Location": f"{created_under}/{outcome.view['id']}"})
    return HttpResult(200, body)
