"""The worker's maintenance jobs: program task generation (every 6 hours) and the grounding check (every 5 minutes).

Both only find candidates by reading (the MaintenanceCandidates port); every change is a command on the aircraft's actor
(`aircraft:{org_id}:{aircraft_id}`), submitted through the CommandBus with the job as the actor
(`Actor.for_job`, so audit rows carry `details.actor {job}`). The actor decides again under its
own transaction, so a stale candidate is harmless. A refused command (an overlap, say) is a
normal failed command: logged here, and the program is tried again at the next run.

`generate_due_tasks` and `ground_due_aircraft` are plain functions (tests call them directly;
`org_id` narrows a run to one organization); `maintenance_jobs` wraps them as `Job`s for the
worker's JobRunner, over the bus and clock the composition root (`amss.bootstrap`) built. In
amss-worker the program generator runs as `generate_over_grpc`: it finds the organizations with a
due program and calls amss-server's ProgramService.GenerateTasks for each, with a short-lived
service credential of the job (docs/grpc.md, "The worker's generator").
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Final

from amss.app.aircraft.commands import ApplyGrounding
from amss.app.clock import Clock, utc_now
from amss.app.commands.bus import CommandSender, Submission
from amss.app.commands.outcomes import Failed, Succeeded
from amss.app.jobs import MaintenanceCandidates
from amss.app.program_runs import ProgramGenerationRemote, RemoteUnavailable
from amss.app.programs import generation as program_generation
from amss.app.programs.commands import GenerateProgramTask
from amss.config import Settings
from amss.domain.principal import Actor
from amss.domain.programs import program_due
from amss.domain.timestamps import shift
from amss.jobs.runner import Job

log = logging.getLogger(__name__)

GENERATOR_SCHEDULE: Final = "0 */6 * * *"  # cron, UTC: every 6 hours
GROUNDING_SCHEDULE: Final = "*/5 * * * *"  # cron, UTC: every 5 minutes
GROUNDING_JOB: Final = "grounding-check"
CANDIDATE_LIMIT: Final = 10_000


@dataclass
class JobReport:
    candidates: int = 0
    submitted: int = 0
    changed: int = 0  # tasks generated / aircraft grounded
    unchanged: int = 0  # the actor found nothing to do after all
    failed: int = 0  # refused commands (logged)
    pending: int = 0  # not finished within the wait (they still run)

    def count(self, submission: Submission) -> None:
        self.submitted += 1
        outcome = submission.outcome
        if outcome is None:
            self.pending += 1
        elif not isinstance(outcome, Succeeded):
            self.failed += 1
        elif outcome.changed:
            self.changed += 1
        else:
            self.unchanged += 1


async def generate_due_tasks(
    candidates: MaintenanceCandidates,
    bus: CommandSender,
    *,
    lead_time: timedelta,
    clock: Clock = utc_now,
    wait: float = 5.0,
    org_id: uuid.UUID | None = None,
) -> JobReport:
    """One run of the program task generator: a `program.generate_task` command per due program."""
    report = JobReport()
    acting = Actor.for_job(program_generation.GENERATOR_JOB)
    due = [
        program
        for program, aircraft in await candidates.generation_candidates(CANDIDATE_LIMIT, org_id)
        if program_due(program, aircraft, now=clock(), lead_time=lead_time) is not None
    ]
    report.candidates = len(due)
    for program in due:
        assert program.aircraft_id is not None
        command = GenerateProgramTask(aircraft_id=program.aircraft_id, program_id=program.id)
        submission = await bus.send(program.org_id, command, acting, wait)
        report.count(submission)
        if isinstance(submission.outcome, Failed):
            log.warning(
                "program task not generated; retried next run",
                extra={
                    "program_id": str(program.id),
                    "command_id": str(submission.command_id),
                    "code": submission.outcome.error.code,
                    "error": submission.outcome.error.message[:500],
                },
            )
    return report


async def generate_over_grpc(
    candidates: MaintenanceCandidates,
    remote: ProgramGenerationRemote,
    *,
    lead_time: timedelta,
    clock: Clock = utc_now,
    org_id: uuid.UUID | None = None,
) -> JobReport:
    """One run of the program task generator through amss-server: ProgramService.GenerateTasks for each
    organization with a due program (the server finds them again and submits the commands).

    An organization whose call fails (the server unreachable, say) is left for the next run, which finds
    it still due; the run itself then fails (raised, so the runner counts it in job_failures_total and
    does not record it as the job's last success)."""
    report = JobReport()
    due_orgs: dict[uuid.UUID, int] = {}
    for program, aircraft in await candidates.generation_candidates(CANDIDATE_LIMIT, org_id):
        if program_due(program, aircraft, now=clock(), lead_time=lead_time) is not None:
            due_orgs[program.org_id] = due_orgs.get(program.org_id, 0) + 1
    report.candidates = sum(due_orgs.values())
    failures: list[str] = []
    for due_org in due_orgs:
        try:
            summary = await remote.generate(due_org)
        except RemoteUnavailable as exc:
            failures.append(str(exc))
            continue
        report.submitted += summary.created + summary.skipped
        report.changed += summary.created
        report.unchanged += summary.skipped
    if failures:
        raise RemoteUnavailable(f"{len(failures)} of {len(due_orgs)} organizations not generated: {failures[0]}")
    return report


async def ground_due_aircraft(
    candidates: MaintenanceCandidates,
    bus: CommandSender,
    *,
    lead_time: timedelta,
    clock: Clock = utc_now,
    wait: float = 5.0,
    org_id: uuid.UUID | None = None,
) -> JobReport:
    """One run of the grounding check: `aircraft.apply_grounding` for each operational aircraft with a
    confirmed task (scheduled, assigned mechanic) starting within the lead time."""
    report = JobReport()
    acting = Actor.for_job(GROUNDING_JOB)
    now = clock()
    found = await candidates.grounding_candidates(shift(now, lead_time), now, CANDIDATE_LIMIT, org_id)
    report.candidates = len(found)
    for aircraft_org, aircraft_id in found:
        submission = await bus.send(aircraft_org, ApplyGrounding(aircraft_id=aircraft_id), acting, wait)
        report.count(submission)
        if isinstance(submission.outcome, Failed):
            log.warning(
                "grounding check refused; retried next run",
                extra={"aircraft_id": str(aircraft_id), "code": submission.outcome.error.code},
            )
    return report


def maintenance_jobs(
    settings: Settings,
    candidates: MaintenanceCandidates,
    bus: CommandSender,
    clock: Clock = utc_now,
    generator: ProgramGenerationRemote | None = None,
) -> list[Job]:
    """The two jobs; with `generator` (amss-worker passes amss-server's ProgramService) the program generator
    runs through it, else in this process through `bus`."""
    lead_time = settings.amss_grounding_lead_time
    wait = settings.amss_command_timeout.total_seconds()
    generate: Callable[[], Awaitable[JobReport]] = partial(
        generate_due_tasks, candidates, bus, lead_time=lead_time, clock=clock, wait=wait
    )
    if generator is not None:
        generate = partial(generate_over_grpc, candidates, generator, lead_time=lead_time, clock=clock)
    return [
        Job(program_generation.GENERATOR_JOB, GENERATOR_SCHEDULE, generate),
        Job(
            GROUNDING_JOB,
            GROUNDING_SCHEDULE,
            partial(ground_due_aircraft, candidates, bus, lead_time=lead_time, clock=clock, wait=wait),
        ),
    ]
