"""The handler registry as data: one handler per command model, bound once, parsing the payload once."""

from __future__ import annotations

import typing
import uuid
from datetime import timedelta
from typing import Any

import pytest

from amss.actors.executor import CommandContext
from amss.actors.registry import bind
from amss.app.commands.base import CommandModel, Issuer
from amss.app.commands.deps import CommandDeps
from amss.app.commands.envelope import Command
from amss.app.commands.outcomes import Outcome, Succeeded
from amss.app.handlers import COMMAND_HANDLERS
from amss.app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from amss.app.tasks.commands import TaskChanges, UpdateTask
from amss.domain.errors import ValidationFailed
from amss.domain.versioning import UNSET
from tests.unit.fakes import FakeClock

ORG = uuid.UUID(int=7)
CLOCK = FakeClock()
DEPS = CommandDeps(timedelta(hours=1))


def test_every_command_type_has_one_name_and_its_handler_takes_that_model() -> None:
    names = [model.TYPE for model in COMMAND_HANDLERS]
    assert len(names) == len(set(names))
    for model, handler in COMMAND_HANDLERS.items():
        assert typing.get_type_hints(handler)["command"] is model, handler.__name__
        assert model.model_config.get("frozen") is True


class _UnusedJournal:
    """The bound handler only passes the unit of work on; these tests never open one."""

    def unit_of_work(self) -> UnitOfWork:
        raise AssertionError("no unit of work is opened here")

    async def finish(self, command: Command, outcome: Outcome) -> bool:
        raise AssertionError("nothing is stored here")


def _context(command_type: str, payload: dict[str, Any]) -> CommandContext:
    command = Command(uuid.uuid4(), ORG, "aircraft:x:y", command_type, payload, {"job": "test"})
    return CommandContext(command, connection=None, worker_id="w", journal=_UnusedJournal())


async def test_a_bound_handler_gets_the_parsed_model_its_issuer_and_the_deps() -> None:
    seen: list[tuple[CommandModel, Issuer, Clock, CommandDeps]] = []

    async def handler(
        command: UpdateTask, by: Issuer, uow: UnitOfWorkFactory, clock: Clock, deps: CommandDeps
    ) -> Outcome:
        seen.append((command, by, clock, deps))
        return Succeeded({"ok": True})

    sent = UpdateTask(aircraft_id=uuid.uuid4(), task_id=uuid.uuid4(), changes=TaskChanges(notes=None))
    outcome = await bind(UpdateTask, handler, CLOCK, DEPS)(_context(UpdateTask.TYPE, sent.payload()))
    assert outcome == Succeeded({"ok": True})
    [(command, by, clock, deps)] = seen
    assert command == sent and command.changes.patch().notes is None and command.changes.patch().type is UNSET
    assert (by.org_id, by.actor.job, clock, deps) == (ORG, "test", CLOCK, DEPS)


async def test_a_malformed_stored_payload_is_a_validation_error_before_the_handler_runs() -> None:
    async def handler(
        command: UpdateTask, by: Issuer, uow: UnitOfWorkFactory, clock: Clock, deps: CommandDeps
    ) -> Outcome:
        raise AssertionError("not to be run")

    with pytest.raises(ValidationFailed) as refused:
        await bind(UpdateTask, handler, CLOCK, DEPS)(_context(UpdateTask.TYPE, {"task_id": "nope"}))
    assert list(refused.value.details["fields"]) == ["aircraft_id"]
