"""The handler registry as data: which plain async function runs each command type.

Adding a command type: its model (amss/app/<aggregate>/commands.py), its handler function
(amss/app/<aggregate>/handlers.py), one line below, and its REST route. The mesh looks a handler
up by the model's `TYPE` and parses the stored payload into the model once (amss/actors/registry.py).
"""

from __future__ import annotations

from typing import Final

from amss.app.aircraft import handlers as aircraft
from amss.app.aircraft.commands import ApplyGrounding, DeleteAircraft, RecordAircraftUsage, UpdateAircraft
from amss.app.commands.base import CommandModel
from amss.app.commands.deps import Handler
from amss.app.parts import handlers as parts
from amss.app.parts.commands import (
    DeletePartItem,
    ReleaseParts,
    ReservePart,
    ReserveParts,
    TransitionReservation,
    UpdatePartItem,
)
from amss.app.programs import handlers as programs
from amss.app.programs.commands import GenerateProgramTask
from amss.app.tasks import handlers as tasks
from amss.app.tasks.commands import (
    CreateComplianceItem,
    CreateTask,
    DeleteTask,
    SignOffComplianceItem,
    TransitionTask,
    UpdateComplianceItem,
    UpdateTask,
)

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
