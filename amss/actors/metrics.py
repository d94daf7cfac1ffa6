"""Command mesh metrics on the process's registry."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_SECONDS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


@dataclass(frozen=True)
class MeshMetrics:
    commands_total: Counter
    queue_wait_seconds: Histogram
    execution_seconds: Histogram
    mailbox_depth: Gauge
    owned_partitions: Gauge
    commands_redriven_total: Counter
    commands_dead_lettered_total: Counter

    @classmethod
    def register(cls, registry: CollectorRegistry) -> MeshMetrics:
        return cls(
            commands_total=Counter(
                "commands_total", "Commands finished, by type and outcome", ["type", "outcome"], registry=registry
            ),
            queue_wait_seconds=Histogram(
                "command_queue_wait_seconds",
                "From stream entry to execution start",
                registry=registry,
                buckets=_SECONDS,
            ),
            execution_seconds=Histogram(
                "command_execution_seconds",
                "Command execution time, by type",
                ["type"],
                registry=registry,
                buckets=_SECONDS,
            ),
            mailbox_depth=Gauge("mailbox_depth", "Commands waiting in actor mailboxes", registry=registry),
            owned_partitions=Gauge("owned_partitions", "Partitions this worker owns", registry=registry),
            commands_redriven_total=Counter(
                "commands_redriven_total", "Accepted commands enqueued again by the redriver", registry=registry
            ),
            commands_dead_lettered_total=Counter(
                "commands_dead_lettered_total", "Commands failed after too many deliveries", registry=registry
            ),
        )
