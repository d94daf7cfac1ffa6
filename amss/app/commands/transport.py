"""The mesh's stream transport as the actors see it: a port (amss/infra/redis implements it).

The names of the mesh's streams, leases and sets (one key space, amss/infra/redis/keys.py), and
the batched round trips through which replies, acknowledgements and XADDs travel
(amss/infra/redis/batching.py: the commands of one event-loop turn share one pipeline).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeAlias

# one Redis command: its name and arguments
StreamCommand: TypeAlias = tuple[Any, ...]


class MeshKeys(Protocol):
    @property
    def command_group(self) -> str:
        """The consumer group that reads every command partition stream."""
        ...

    @property
    def dead_letter_stream(self) -> str: ...

    @property
    def workers(self) -> str:
        """The sorted set of live workers, scored by the time (ms) their heartbeat expires."""
        ...

    def command_stream(self, partition: int) -> str: ...

    def partition_lease(self, partition: int) -> str: ...

    def partition_epoch(self, partition: int) -> str: ...

    def reply_stream(self, instance_id: str) -> str: ...


class RoundTrips(Protocol):
    async def call(self, *command: Any) -> Any:
        """One command's reply (its error raised)."""
        ...

    async def group(self, commands: Sequence[StreamCommand]) -> list[Any]:
        """The replies of commands that travel together, in order; the first error among them is raised."""
        ...
