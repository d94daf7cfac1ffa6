"""One run of the program task generator for an organization: find the due programs, submit one
`program.generate_task` command each (the aircraft's actor decides again), and report what it made.

Read through the unit of work's ports; submitted through the CommandSender port. The gRPC
ProgramService.GenerateTasks calls this for one program, one aircraft or the whole organization.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final, Protocol

from amss.app.commands.bus import CommandSender
from amss.app.commands.outcomes import Succeeded
from amss.app.ports import Clock, UnitOfWorkFactory
from amss.app.programs.commands import GenerateProgramTask
from amss.domain.errors import NotFound
from amss.domain.principal import Actor
from amss.domain.programs import program_due

CANDIDATE_LIMIT: Final = 10_000


@dataclass
class GenerationRun:
    tasks: list[dict[str, Any]] = field(default_factory=list)  # task views of the tasks generated
    skipped: int = 0  # due programs that generated nothing (not due any more, refused, or not finished in time)


async def generate_for_org(
    uow: UnitOfWorkFactory,
    sender: CommandSender,
    acting: Actor,
    org_id: uuid.UUID,
    *,
    lead_time: timedelta,
    clock: Clock,
    wait: float,
    program_id: uuid.UUID | None = None,
    aircraft_id: uuid.UUID | None = None,
) -> GenerationRun:
    async with uow() as reads:
        if program_id is not None and await reads.programs.get(org_id, program_id) is None:
            raise NotFound("maintenance program not found")
        if aircraft_id is not None and await reads.aircraft.get(org_id, aircraft_id) is None:
            raise NotFound("aircraft not found")
        candidates = await reads.programs.generation_candidates(CANDIDATE_LIMIT, org_id)
        due = []
        for program in candidates:
            if program.aircraft_id is None or (program_id is not None and program.id != program_id):
                continue
            if aircraft_id is not None and program.aircraft_id != aircraft_id:
                continue
            aircraft = await reads.aircraft.get(org_id, program.aircraft_id)
            if program_due(program, aircraft, now=clock(), lead_time=lead_time) is not None:
                due.append((program.id, program.aircraft_id))
    run = GenerationRun()
    for due_program, due_aircraft in due:
        command = GenerateProgramTask(aircraft_id=due_aircraft, program_id=due_program)
        outcome = (await sender.send(org_id, command, acting, wait)).outcome
        if isinstance(outcome, Succeeded) and outcome.changed and outcome.view is not None:
            run.tasks.append(outcome.view)
        else:
            run.skipped += 1
    return run


@dataclass(frozen=True)
class GenerationSummary:
    created: int
    skipped: int


class RemoteUnavailable(Exception):
    """The server's ProgramService could not be reached, or refused the call."""


class ProgramGenerationRemote(Protocol):
    """Where the worker's generator runs a generation for one organization (amss-server over gRPC)."""

    async def generate(self, org_id: uuid.UUID) -> GenerationSummary: ...
