"""The handler registry as data: which plain async function runs each command type.

Adding a command type: its model (amss/app/commands/), its handler function (here, by aggregate),
one line below, and its REST route. The mesh looks a handler up by the model's `TYPE` and parses
the stored payload into the model once (amss/actors/registry.py).
"""

from __future__ import annotations

from typing import Final

from amss.app.commands.aircraft import ApplyGrounding, DeleteAircraft, RecordAircraftUsage, UpdateAircraft
from amss.app.commands.base import CommandModel
from amss.app.commands.parts import (
    DeletePartItem,
    ReleaseParts,
    ReservePart,
    ReserveParts,
    TransitionReservation,
    UpdatePartItem,
)
from amss.app.commands.programs import GenerateProgramTask
from amss.app.commands.tasks import (
    CreateComplianceItem,
    CreateTask,
    DeleteTask,
    SignOffComplianceItem,
    TransitionTask,
    UpdateComplianceItem,
    UpdateTask,
)
from amss.app.handlers import aircraft, parts, programs, tasks
from amss.app.handlers.deps import Handler

COMMAND_HANDLERS: Final[dict[type[CommandModel], Handler]] = {
    CreateTask: tasks.create_task,
    UpdateTask: tasks.update_task,
    TransitionTask: tasks.transition_task,
    DeleteTask: tasks.delete_task,
    CreateComplianceItem: tasks.create_compliance_item,
    UpdateComplianceItem: tasks.update_compliance_item,
    SignOffComplianceItem: tasks.sign_off_compliance_item,
    GenerateProgramTask: programs.generate_program_task,
    UpdateAircraft: aircraft.update_aircraft,
    DeleteAircraft: aircraft.delete_aircraft,
    RecordAircraftUsage: aircraft.record_aircraft_usage,
    ApplyGrounding: aircraft.apply_grounding,
    UpdatePartItem: parts.update_part_item,
    DeletePartItem: parts.delete_part_item,
    ReservePart: parts.reserve_part,
    TransitionReservation: parts.transition_reservation,
    ReserveParts: parts.reserve_parts,
    ReleaseParts: parts.release_parts,
}
# the command types that hold a part item's lock: run only where the lock (Redis) is given
NEEDS_PART_ITEM_LOCKS: Final[frozenset[type[CommandModel]]] = frozenset(
    {UpdatePartItem, DeletePartItem, ReservePart, TransitionReservation, ReserveParts, ReleaseParts}
)
