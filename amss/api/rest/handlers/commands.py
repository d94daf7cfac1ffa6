"""Asynchronous commands over REST: how long to wait (`Prefer`), the 202 answer, and polling.

A command endpoint answers with the command's own result when it is ready within the wait —
exactly the body a poll shows in `result.body` — and otherwise `202 Accepted` with
`Location: /api/v1/commands/{id}`.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson
from aiohttp import web

from amss.api.rest.bodies import dumps, path_id
from amss.api.rest.context import actor_of, principal_of
from amss.api.rest.outcomes import render_outcome
from amss.api.rest.routing import RouteSpec
from amss.api.rest.services import COMMAND_BUS, COMMAND_LOG
from amss.app.commands.base import CommandModel
from amss.app.commands.bus import Submission
from amss.app.commands.log import StoredCommand
from amss.auth.rbac import Action, Resource
from amss.domain.errors import NotFound
from amss.runtime import SETTINGS

MAX_WAIT_SECONDS = 30.0
_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*(\d+(?:\.\d+)?)", re.IGNORECASE)
_RESPOND_ASYNC = re.compile(r"(?:^|[,;\s])respond-async(?:$|[,;\s])", re.IGNORECASE)


def requested_wait(request: web.Request) -> tuple[float, str | None]:
    """(seconds to wait, Preference-Applied value) from RFC 7240 `Prefer`; default AMSS_COMMAND_WAIT."""
    prefer = ", ".join(request.headers.getall("Prefer", []))
    if _RESPOND_ASYNC.search(prefer):
        return 0.0, "respond-async"
    match = _WAIT.search(prefer)
    if match:
        seconds = min(float(match.group(1)), MAX_WAIT_SECONDS)
        return seconds, f"wait={seconds:g}"
    return request.app[SETTINGS].amss_command_wait.total_seconds(), None


async def submit_command(
    request: web.Request, org_id: uuid.UUID, actor: str, command_type: str, payload: dict[str, Any]
) -> web.Response:
    """Submit through the mesh and answer with its result, or 202 when it is not ready in time."""
    wait, applied = requested_wait(request)
    submission = await request.app[COMMAND_BUS].submit(org_id, actor, command_type, payload, actor_of(request), wait)
    return command_response(submission, applied)


async def send_command(request: web.Request, command: CommandModel) -> web.Response:
    """Submit a typed command for the caller's organization; answer as `submit_command` does."""
    wait, applied = requested_wait(request)
    org_id = principal_of(request).org_id
    submission = await request.app[COMMAND_BUS].send(org_id, command, actor_of(request), wait)
    return command_response(submission, applied)


def command_response(submission: Submission, preference_applied: str | None = None) -> web.Response:
    headers = {"Preference-Applied": preference_applied} if preference_applied else {}
    if submission.outcome is not None:
        result = render_outcome(submission.command.type, submission.outcome, submission.command.request_id)
        return web.Response(
            status=result.status_code,
            body=result.body,
            content_type="application/json",
            headers={**result.headers, **headers},
        )
    location = f"/api/v1/commands/{submission.command_id}"
    body = dumps({"command_id": submission.command_id, "status": "accepted"})
    return web.Response(
        status=202, body=body, content_type="application/json", headers={"Location": location, **headers}
    )


def render_command(command: StoredCommand) -> bytes:
    result: dict[str, Any] | None = None
    if command.outcome is not None:
        # rendered as the synchronous answer was, byte for byte
        rendered = render_outcome(command.type, command.outcome, command.request_id)
        body = orjson.Fragment(rendered.body) if rendered.body else None  # None: no body (204)
        result = {"status_code": rendered.status_code, "body": body}
    return dumps(
        {
            "command_id": command.id,
            "type": command.type,
            "status": command.status.value,
            "result": result,
            "created_at": command.created_at,
            "completed_at": command.completed_at,
        }
    )


async def get_command_status(request: web.Request) -> web.Response:
    command_id = path_id(request)
    command = await request.app[COMMAND_LOG].find(principal_of(request).org_id, command_id)
    if command is None:
        raise NotFound("command not found")
    return web.Response(body=render_command(command), content_type="application/json")


ROUTES = [
    RouteSpec(
        "GET",
        "/api/v1/commands/{id}",
        get_command_status,
        "commands.get",
        "Poll an asynchronous command: its status and, once finished, the result the synchronous call would have given",
        (Resource.COMMANDS, Action.READ),
        "read",
        tag="commands",
    ),
]
