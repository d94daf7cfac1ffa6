"""The program generator's command: generate a program's next task, in the actor of the program's aircraft."""

from __future__ import annotations

import uuid
from typing import ClassVar

from amss.app.commands.base import AircraftCommand


class GenerateProgramTask(AircraftCommand):
    TYPE: ClassVar[str] = "program.generate_task"
    program_id: uuid.UUID
