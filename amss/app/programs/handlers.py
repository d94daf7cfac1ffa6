"""The program generator's handler: generate a program's next task (submitted by the generator job).

Runs ProgramTaskGenerator over the command's own unit of work, so the task, its audit row, its
`task_created` event, the `program_task_generated` event and the command's outcome commit
together: the task (as `GET /maintenance-tasks/{id}` shows it) when one was generated, else
`{"generated": false}` and `changed` false when the program is not due (any more).
"""

from __future__ import annotations

from amss.app.commands.base import Issuer
from amss.app.commands.deps import CommandDeps
from amss.app.commands.outcomes import Outcome, Succeeded
from amss.app.ports import Clock, UnitOfWorkFactory
from amss.app.programs.commands import GenerateProgramTask
from amss.app.programs.generation import ProgramTaskGenerator
from amss.app.tasks.handlers import task_service
from amss.app.tasks.views import task_detail_view


async def generate_program_task(
    command: GenerateProgramTask, by: Issuer, uow: UnitOfWorkFactory, clock: Clock, deps: CommandDeps
) -> Outcome:
    tasks = task_service(uow, clock, deps)
    generator = ProgramTaskGenerator(uow, clock, deps.grounding_lead_time, tasks)
    detail = await generator.generate(by.actor, by.org_id, command.program_id)
    if detail is None:
        return Succeeded({"generated": False, "program_id": str(command.program_id)}, changed=False)
    return Succeeded(task_detail_view(detail.task, detail.reservations, detail.compliance_items))
