"""Which command failures are retried: only those known to be transient."""

from __future__ import annotations

import asyncpg
import pytest
from redis import exceptions as redis_errors

from amss.actors.failures import is_transient
from amss.bench.diagnostics import DiagnosticDefect, DiagnosticInfrastructureError
from amss.domain.errors import Conflict

TRANSIENT: list[BaseException] = [
    ConnectionResetError("peer reset"),
    ConnectionRefusedError("refused"),
    TimeoutError(),
    OSError("network unreachable"),
    DiagnosticInfrastructureError("down"),
    asyncpg.InterfaceError("connection is closed"),
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.exceptions.ConnectionFailureError("failure"),
    asyncpg.exceptions.SerializationError("could not serialize access"),
    asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
    asyncpg.exceptions.LockNotAvailableError("could not obtain lock"),
    asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
    asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.OutOfMemoryError("out of memory"),
    redis_errors.ConnectionError("Connection refused"),
    redis_errors.TimeoutError("Timeout reading from socket"),
    redis_errors.BusyLoadingError("loading"),
    redis_errors.ReadOnlyError("You can't write against a read only replica."),
    ExceptionGroup("both", [TimeoutError(), redis_errors.ConnectionError("x")]),
]

DETERMINISTIC: list[BaseException] = [
    DiagnosticDefect("a bug"),
    ValueError("bad value"),
    TypeError("Type is not JSON serializable: asyncpg.pgproto.pgproto.UUID"),
    OverflowError("date value out of range"),
    KeyError("missing"),
    ZeroDivisionError(),
    AssertionError(),
    asyncpg.exceptions.DataError("invalid input for query argument $1"),
    asyncpg.exceptions.NumericValueOutOfRangeError("integer out of range"),
    asyncpg.exceptions.UndefinedColumnError('column "x" does not exist'),
    asyncpg.exceptions.PostgresSyntaxError("syntax error"),
    asyncpg.exceptions.UniqueViolationError("an untranslated constraint"),
    asyncpg.exceptions.InternalClientError("bug"),
    redis_errors.ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value"),
    redis_errors.AuthenticationError("invalid password"),
    Conflict("a domain error is a rejection, never a retry"),
    ExceptionGroup("mixed", [TimeoutError(), ValueError("bug")]),
]


@pytest.mark.parametrize("error", TRANSIENT, ids=lambda e: type(e).__name__)
def test_transient_failures_are_retried(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize("error", DETERMINISTIC, ids=lambda e: type(e).__name__)
def test_every_other_failure_is_not(error: BaseException) -> None:
    assert not is_transient(error)
