"""Where a command goes: actor names, the stable partition of an actor, and which worker owns a partition.

The hash is BLAKE2b (never Python's salted `hash()`), so every process agrees. Ownership is
rendezvous (highest-random-weight) hashing over the live workers: when a worker joins or leaves,
only the partitions that must move do.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

# actor names are the commands' own (amss/app/commands/base.py); kept importable here
from amss.app.commands.base import AIRCRAFT, PART, aircraft_actor, part_actor

__all__ = ["AIRCRAFT", "PART", "aircraft_actor", "owner_of", "part_actor", "partition_of", "partitions_of"]


def stable_hash(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big")


def partition_of(actor: str, partitions: int) -> int:
    return stable_hash(actor) % partitions


def owner_of(partition: int, workers: Iterable[str]) -> str | None:
    """The live worker with the highest weight for this partition, or None when there is none."""
    best: tuple[int, str] | None = None
    for worker in workers:
        weight = stable_hash(f"{worker}#{partition}")
        if best is None or (weight, worker) > best:
            best = (weight, worker)
    return best[1] if best else None


def partitions_of(worker: str, workers: Iterable[str], partitions: int) -> set[int]:
    live = sorted(set(workers) | {worker})
    return {p for p in range(partitions) if owner_of(p, live) == worker}
