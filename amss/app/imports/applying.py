"""The applying phase: each valid row becomes the create or the command its REST endpoint would make.

Rows upsert by their natural key. A new object is created through its service, in a unit of work
that is a savepoint of a batch transaction over a few rows (amss.app.imports.ports.RowBatch): the
batch marks its applied rows in the same transaction, so a row's create commits exactly once.
A change to an existing aircraft or part item is the REST PATCH's typed command, submitted
through the bus to that object's actor (so an import never races a REST write on it) under a
command id derived from `(import_id, row_number)`: a repeat after a crash gets the stored
outcome instead of running again. Programs change through their service, like REST's PATCH.
A refused row (a domain error, a failed command) becomes invalid with its problems.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from amss.app.aircraft.commands import AircraftChanges, UpdateAircraft
from amss.app.aircraft.service import AircraftService, checked_changes
from amss.app.commands.base import CommandModel
from amss.app.commands.bus import CommandSender
from amss.app.commands.outcomes import Failed
from amss.app.imports.ports import (
    ExistingItem,
    ImportJobStore,
    ImportRecord,
    RowAlreadySettled,
    RowBatch,
    RowBatches,
    RowVerdict,
)
from amss.app.imports.rows import AircraftRow, ParsedRow, PartRow, ProgramRow, check_row, column_of, problems_of
from amss.app.imports.spec import SPECS
from amss.app.parts.commands import PartItemChanges, UpdatePartItem
from amss.app.parts.ports import NewPartDefinition, NewPartItem
from amss.app.parts.service import PartsService
from amss.app.ports import Clock, PartItemLocks, UnitOfWorkFactory
from amss.app.programs.service import ProgramService
from amss.domain.enums import ImportType
from amss.domain.errors import Conflict, DomainError
from amss.domain.principal import Actor, ImportOrigin

# how often a row's command is sent again (same id) when its outcome is not back within the wait
COMMAND_ROUNDS: Final = 3
_AIRCRAFT_CHANGES: Final = ("model", "status", "capacity_slots", "last_maintenance", "next_due")


@dataclass(frozen=True)
class ApplyDeps:
    store: ImportJobStore
    row_batches: RowBatches
    uow: UnitOfWorkFactory
    commands: CommandSender
    clock: Clock
    grounding_lead_time: timedelta
    locks: PartItemLocks
    # transactions of rows applied at once (each one transaction, its rows one after another), and their size
    concurrency: int = 4
    chunk_rows: int = 250
    command_wait: float = 30.0


def command_id_of(import_id: uuid.UUID, row_number: int) -> uuid.UUID:
    """The one command id a row's change ever has: its row-level idempotency key."""
    return uuid.uuid5(import_id, f"row:{row_number}")


class RowApplier:
    """Applies the valid rows of one import, a batch at a time."""

    def __init__(self, deps: ApplyDeps, record: ImportRecord, actor: Actor) -> None:
        self._deps = deps
        self._record = record
        self._org_id = record.org_id
        self._actor = actor
        self._key_column = SPECS[record.type].key[0]
        self._definitions: dict[str, uuid.UUID] = {}
        # the batch's part items found by serial number (the bulk create takes the rest)
        self._items: dict[str, ExistingItem] = {}
        self._definition_locks: dict[str, asyncio.Lock] = {}

    async def apply_batch(self, rows: list[tuple[int, dict[str, str]]]) -> list[RowVerdict]:
        """Apply the rows (concurrently: their natural keys differ) and say what became of each."""
        now = self._deps.clock()
        parsed: list[tuple[int, ParsedRow]] = []
        verdicts: list[RowVerdict] = []
        for row_number, raw in rows:
            checked = check_row(self._record.type, raw, now)
            if checked.parsed is None:  # e.g. an expiry that passed since the row was validated
                verdicts.append(RowVerdict(row_number, checked.errors))
            else:
                parsed.append((row_number, checked.parsed))
        apply_one = await self._prepared(parsed)
        gate = asyncio.Semaphore(self._deps.concurrency)
        # the batch split over the transactions run at once, none larger than chunk_rows
        size = max(1, min(self._deps.chunk_rows, -(-len(parsed) // self._deps.concurrency)))

        async def chunk(rows: list[tuple[int, ParsedRow]]) -> list[RowVerdict]:
            async with gate:
                found = await self._in_batch(rows, apply_one, savepoints=False)
                if found is None:  # a row's statement failed: again, each row in a savepoint of its own
                    found = await self._in_batch(rows, apply_one, savepoints=True)
                assert found is not None
                return found

        chunks = [parsed[start : start + size] for start in range(0, len(parsed), size)]
        for found in await asyncio.gather(*(chunk(rows) for rows in chunks)):
            verdicts.extend(found)
        return verdicts

    async def _in_batch(
        self,
        rows: list[tuple[int, ParsedRow]],
        apply_one: Callable[[int, ParsedRow, Actor, UnitOfWorkFactory], Awaitable[RowVerdict]],
        *,
        savepoints: bool,
    ) -> list[RowVerdict] | None:
        """The rows one after another in one batch transaction; None when it aborted (nothing committed)."""
        found: list[RowVerdict] = []
        async with self._deps.row_batches(self._org_id, self._record.id, savepoints) as batch:
            held = await batch.lock([number for number, _ in rows])
            rows = [(number, row) for number, row in rows if number in held]
            if not savepoints and self._record.type is ImportType.PARTS:
                rows, created = await self._create_parts(rows, batch)
                if batch.aborted:
                    return None
                found.extend(created)
            for row_number, row in rows:
                if row_number not in held:  # settled by another attempt already
                    continue
                actor, uow = self._row_actor(row_number), batch.for_row(row_number)
                try:
                    found.append(await apply_one(row_number, row, actor, uow))
                except RowAlreadySettled:
                    continue
                except DomainError as exc:
                    found.append(RowVerdict(row_number, problems_of(exc, self._record.type, self._key_column)))
                if batch.aborted:
                    return None
            await batch.commit()
        return found

    async def _create_parts(
        self, rows: list[tuple[int, ParsedRow]], batch: RowBatch
    ) -> tuple[list[tuple[int, ParsedRow]], list[RowVerdict]]:
        """The new part items among `rows` in one `PartsService.create_items` call; the other rows are left.

        Refused as a whole (a rule, a constraint), none of them is created here: they are left too, and go one
        by one (after a failed statement, in savepoints)."""
        new = [(n, row) for n, row in rows if isinstance(row, PartRow) and row.serial_number not in self._items]
        if len(new) < 2:
            return rows, []
        items: list[tuple[Actor, NewPartItem]] = []
        for row_number, row in new:
            assert isinstance(row, PartRow)
            actor = self._row_actor(row_number)
            definition_id = await self._definition(row.definition, actor)
            item = row.new_item
            items.append((actor, NewPartItem(definition_id, row.serial_number, item.expiry_date, item.status)))
        numbers = [number for number, _ in new]
        service = PartsService(batch.for_rows(numbers), self._deps.clock, self._deps.locks)
        try:
            await service.create_items(self._org_id, items)
        except DomainError:
            return rows, []
        created = set(numbers)
        return [(n, row) for n, row in rows if n not in created], [RowVerdict(n) for n in numbers]

    def _row_actor(self, row_number: int) -> Actor:
        return dataclasses.replace(self._actor, origin=ImportOrigin(self._record.id, row_number))

    async def _prepared(
        self, rows: list[tuple[int, ParsedRow]]
    ) -> Callable[[int, ParsedRow, Actor, UnitOfWorkFactory], Awaitable[RowVerdict]]:
        """The batch's lookups by natural key, in one query per kind, and the function applying one row."""
        store, org_id = self._deps.store, self._org_id
        if self._record.type is ImportType.AIRCRAFT:
            tails = [row.new.tail_number for _, row in rows if isinstance(row, AircraftRow)]
            aircraft = await store.aircraft_ids(org_id, tails)
            return lambda number, row, actor, uow: self._aircraft(number, row, actor, uow, aircraft)
        if self._record.type is ImportType.PARTS:
            serials = [row.serial_number for _, row in rows if isinstance(row, PartRow)]
            items = self._items = await store.items_by_serial(org_id, serials)
            return lambda number, row, actor, uow: self._part(number, row, actor, uow, items)
        tails = [row.tail_number for _, row in rows if isinstance(row, ProgramRow) and row.tail_number]
        aircraft = await store.aircraft_ids(org_id, tails)
        return lambda number, row, actor, uow: self._program(number, row, actor, uow, aircraft)

    # --- aircraft ---------------------------------------------------------------------------------

    async def _aircraft(
        self, row_number: int, row: ParsedRow, actor: Actor, uow: UnitOfWorkFactory, existing: dict[str, uuid.UUID]
    ) -> RowVerdict:
        assert isinstance(row, AircraftRow)
        aircraft_id = existing.get(row.new.tail_number)
        if aircraft_id is None:
            service = AircraftService(uow, self._deps.clock, self._deps.grounding_lead_time)
            try:
                await service.create(actor, self._org_id, row.new)
                return RowVerdict(row_number)
            except Conflict:  # created meanwhile (by REST): update it instead
                aircraft_id = (await self._deps.store.aircraft_ids(self._org_id, [row.new.tail_number])).get(
                    row.new.tail_number
                )
                if aircraft_id is None:
                    raise
        changes: dict[str, object] = {name: getattr(row.new, name) for name in _AIRCRAFT_CHANGES if name in row.given}
        command = UpdateAircraft(
            aircraft_id=aircraft_id, changes=AircraftChanges.model_validate(checked_changes(changes))
        )
        return await self._command(row_number, command, actor)

    # --- parts ------------------------------------------------------------------------------------

    async def _definition(self, new: NewPartDefinition, actor: Actor) -> uuid.UUID:
        """The definition named `new.name`: found, or created once per import (later rows reuse it)."""
        known = self._definitions.get(new.name)
        if known is not None:
            return known
        lock = self._definition_locks.setdefault(new.name, asyncio.Lock())
        async with lock:
            known = self._definitions.get(new.name)
            if known is None:
                known = (await self._deps.store.definition_ids(self._org_id, [new.name])).get(new.name)
            if known is None:
                service = PartsService(self._deps.uow, self._deps.clock, self._deps.locks)
                try:
                    known = (await service.create_definition(actor, self._org_id, new)).id
                except Conflict:  # created meanwhile
                    known = (await self._deps.store.definition_ids(self._org_id, [new.name])).get(new.name)
                    if known is None:
                        raise
            self._definitions[new.name] = known
            return known

    async def _part(
        self, row_number: int, row: ParsedRow, actor: Actor, uow: UnitOfWorkFactory, existing: dict[str, ExistingItem]
    ) -> RowVerdict:
        assert isinstance(row, PartRow)
        definition_id = await self._definition(row.definition, actor)
        item = existing.get(row.serial_number)
        if item is None:
            service = PartsService(uow, self._deps.clock, self._deps.locks)
            new = NewPartItem(definition_id, row.serial_number, row.new_item.expiry_date, row.new_item.status)
            try:
                await service.create_item(actor, self._org_id, new)
                return RowVerdict(row_number)
            except Conflict:
                item = (await self._deps.store.items_by_serial(self._org_id, [row.serial_number])).get(
                    row.serial_number
                )
                if item is None:
                    raise
        if item.part_definition_id != definition_id:
            return RowVerdict(row_number, ["part_name: the part item with this serial number is of another part"])
        changes: dict[str, object] = {}
        if "expiry_date" in row.given and row.new_item.expiry_date != item.expiry_date:
            changes["expiry_date"] = row.new_item.expiry_date
        if "status" in row.given and row.new_item.status != item.status:
            changes["status"] = row.new_item.status
        if not changes:
            return RowVerdict(row_number)
        command = UpdatePartItem(part_item_id=item.id, changes=PartItemChanges.model_validate(changes))
        return await self._command(row_number, command, actor)

    # --- programs ---------------------------------------------------------------------------------

    async def _program(
        self, row_number: int, row: ParsedRow, actor: Actor, uow: UnitOfWorkFactory, aircraft: dict[str, uuid.UUID]
    ) -> RowVerdict:
        assert isinstance(row, ProgramRow)
        aircraft_id = aircraft.get(row.tail_number) if row.tail_number else None
        if row.tail_number and aircraft_id is None:
            return RowVerdict(row_number, ["tail_number: no aircraft with this tail number in the organization"])
        service = ProgramService(uow, self._deps.clock)
        key = (row.new.name, aircraft_id)
        found = (await self._deps.store.program_ids(self._org_id, [key])).get(key)
        if found is None:
            try:
                await service.create(actor, self._org_id, dataclasses.replace(row.new, aircraft_id=aircraft_id))
                return RowVerdict(row_number)
            except Conflict:
                found = (await self._deps.store.program_ids(self._org_id, [key])).get(key)
                if found is None:
                    raise
        program_id, interval_type = found
        if interval_type != row.new.interval_type.value:
            return RowVerdict(
                row_number, [f"interval_type: the existing program's interval type ({interval_type}) cannot change"]
            )
        changes: dict[str, object] = {"interval_value": row.new.interval_value}
        if "last_performed" in row.given:
            changes["last_performed"] = row.new.last_performed
        await service.update(actor, self._org_id, program_id, changes, None)
        return RowVerdict(row_number)

    # --- commands ---------------------------------------------------------------------------------

    async def _command(self, row_number: int, command: CommandModel, actor: Actor) -> RowVerdict:
        """The row's command through the bus, under the row's own command id, until its outcome is back."""
        command_id = command_id_of(self._record.id, row_number)
        for _ in range(COMMAND_ROUNDS):
            submission = await self._deps.commands.send(
                self._org_id, command, actor, self._deps.command_wait, command_id=command_id
            )
            outcome = submission.outcome
            if outcome is None:
                continue
            if isinstance(outcome, Failed):
                error = outcome.error
                fields = (error.details or {}).get("fields")
                if isinstance(fields, dict) and fields:
                    problems = [f"{column_of(self._record.type, str(k))}: {v}" for k, v in fields.items()]
                else:
                    problems = [f"{self._key_column}: {error.message}"]
                return RowVerdict(row_number, problems)
            return RowVerdict(row_number)
        raise TimeoutError(f"row {row_number}: its command's outcome did not come back (command {command_id})")
