"""Every Redis key and stream name, built from one prefix (AMSS_REDIS_PREFIX, default "amss").

Keys of a mesh partition carry the hash tag `{p}`, so no command spans two Redis Cluster slots.
"""

from __future__ import annotations

from dataclasses import dataclass

# the consumer group that reads every command partition stream
COMMAND_GROUP = "amss.actors"
# the consumer group of the workers that run import jobs (stream `import_jobs_stream`)
IMPORT_GROUP = "amss.imports"
# the consumer group that fans `{prefix}.events` out into webhook deliveries
EVENTS_GROUP = "amss.workers"


@dataclass(frozen=True)
class KeySpace:
    prefix: str = "amss"

    @property
    def command_group(self) -> str:
        return COMMAND_GROUP

    @property
    def events_stream(self) -> str:
        return f"{self.prefix}.events"

    @property
    def dead_letter_stream(self) -> str:
        return f"{self.prefix}.dlq"

    @property
    def import_jobs_stream(self) -> str:
        return f"{self.prefix}:import.jobs"

    def command_stream(self, partition: int) -> str:
        return f"{self.prefix}:cmd:{{{partition}}}"

    def partition_lease(self, partition: int) -> str:
        return f"{self.prefix}:lease:{{{partition}}}"

    def partition_epoch(self, partition: int) -> str:
        return f"{self.prefix}:epoch:{{{partition}}}"

    @property
    def workers(self) -> str:
        """Sorted set of live workers, scored by the time (ms) their heartbeat expires."""
        return f"{self.prefix}:workers"

    def reply_stream(self, instance_id: str) -> str:
        return f"{self.prefix}:reply:{instance_id}"

    def rate_limit(self, *parts: str) -> str:
        return f"{self.prefix}:rl:" + ":".join(parts)

    def lock(self, *parts: str) -> str:
        return f"{self.prefix}:lock:" + ":".join(parts)

    @property
    def pattern(self) -> str:
        """A SCAN pattern matching every key of this key space."""
        return f"{self.prefix}[:.]*"
