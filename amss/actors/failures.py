"""Whether a command's failure is transient (retry it) or deterministic (fail it at once), and its dead letter.

Only failures known to pass are retried: a lost or refused connection, a timeout, a serialization
failure or deadlock, a lock not available or a query cancelled, a server at its connection limit
or not accepting connections yet, Redis unreachable or failing over. Anything else — a DataError,
an OverflowError, a ValueError or TypeError in our code — fails the same way every time, so the
command fails at once (INTERNAL) and its actor moves on. A broken rule (a domain error, or a
Postgres error `translate()` maps) is neither: it is a rejection, stored before this is asked.
"""

from __future__ import annotations

from typing import Final

import asyncpg
from redis import exceptions as redis_errors

# SQLSTATEs of conditions that pass: retried
TRANSIENT_SQLSTATES: Final = frozenset(
    {
        "40001",  # serialization_failure
        "40P01",  # deadlock_detected
        "55P03",  # lock_not_available
        "57014",  # query_canceled (statement or lock timeout)
        "57P01",  # admin_shutdown
        "57P02",  # crash_shutdown
        "57P03",  # cannot_connect_now (starting up, shutting down, in recovery)
        "53000",  # insufficient_resources
        "53100",  # disk_full
        "53200",  # out_of_memory
        "53300",  # too_many_connections
    }
)
# SQLSTATE class 08: connection exceptions
_CONNECTION_CLASS: Final = "08"

_TRANSIENT_TYPES: Final[tuple[type[BaseException], ...]] = (
    OSError,  # ConnectionError, TimeoutError (asyncio's too), socket errors: the network or the OS
    asyncpg.InterfaceError,  # the client's connection is closed or unusable
    asyncpg.exceptions.OutdatedSchemaCacheError,  # asyncpg dropped its statement cache: the retry re-prepares
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.TryAgainError,
    redis_errors.ReadOnlyError,  # a replica promoted meanwhile
    redis_errors.ClusterDownError,
)
# Redis refusing our credentials or rights does not pass by retrying
_NOT_TRANSIENT_TYPES: Final[tuple[type[BaseException], ...]] = (
    redis_errors.AuthenticationError,
    redis_errors.AuthorizationError,
)


def is_transient(error: BaseException) -> bool:
    """True when the same command may well succeed if tried again (the infrastructure failed, not the command)."""
    if isinstance(error, BaseExceptionGroup):
        return all(is_transient(inner) for inner in error.exceptions)
    if isinstance(error, _NOT_TRANSIENT_TYPES):
        return False
    if isinstance(error, asyncpg.PostgresError):
        sqlstate = str(getattr(error, "sqlstate", "") or "")
        return sqlstate in TRANSIENT_SQLSTATES or sqlstate.startswith(_CONNECTION_CLASS)
    return isinstance(error, _TRANSIENT_TYPES)


def failure_reason(error: BaseException) -> str:
    """What the command row's `error` and the dead letter record (for operators, never for clients)."""
    return repr(error)[:2000]


def dead_letter_fields(
    command_id: str, actor: str, command_type: str, partition: int | None, deliveries: int, reason: str
) -> dict[str, str]:
    """The `amss.dlq` entry of a command given up on; `partition` None when it never went through a stream."""
    return {
        "kind": "command",
        "command_id": command_id,
        "actor": actor,
        "type": command_type,
        "partition": "" if partition is None else str(partition),
        "deliveries": str(deliveries),
        "error": reason[:1000],
    }
