"""The aircraft actor's program command: generate a program's next task (submitted by the generator job).

Runs ProgramTaskGenerator over the command's own unit of work, so the task, its audit row, its
`task_created` event, the `program_task_generated` event and the command's result commit
together. 201 with the task (as `GET /maintenance-tasks/{id}` renders it) when a task was
generated; 200 `{"generated": false}` when the program is not due (any more).
"""

from __future__ import annotations

from datetime import timedelta

from amss.actors.executor import CommandContext, CommandHandler
from amss.app import program_generation
from amss.app.aircraft import AircraftService
from amss.app.clock import Clock, utc_now
from amss.app.commands.outcomes import Outcome, Succeeded
from amss.app.task_views import task_detail_view
from amss.app.tasks import TaskService


class ProgramCommands:
    def __init__(self, grounding_lead_time: timedelta, clock: Clock = utc_now) -> None:
        self._lead_time = grounding_lead_time
        self._clock = clock

    def handlers(self) -> dict[str, CommandHandler]:
        return {program_generation.GENERATE: self.generate}

    async def generate(self, context: CommandContext) -> Outcome:
        program_id = program_generation.read_generate(context.command.payload)
        aircraft = AircraftService(context.unit_of_work, self._clock, self._lead_time)
        tasks = TaskService(context.unit_of_work, self._clock, aircraft)
        generator = program_generation.ProgramTaskGenerator(context.unit_of_work, self._clock, self._lead_time, tasks)
        detail = await generator.generate(context.command.acting(), context.command.org_id, program_id)
        if detail is None:
            return Succeeded({"generated": False, "program_id": str(program_id)}, changed=False)
        return Succeeded(task_detail_view(detail.task, detail.reservations, detail.compliance_items))
