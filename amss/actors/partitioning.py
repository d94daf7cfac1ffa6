"""Where a command goes: actor names, the stable partition of an actor, and which worker owns a partition.

The hash is BLAKE2b (never Python's salted `hash()`), so every process agrees. Ownership is
rendezvous (highest-random-weight) hashing over the live workers: when a worker joins or leaves,
only the partitions that must move do.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable

AIRCRAFT = "aircraft"
PART = "part"


def aircraft_actor(org_id: uuid.UUID, aircraft_id: uuid.UUID) -> str:
    return f"{AIRCRAFT}:{org_id}:{aircraft_id}"


def part_actor(org_id: uuid.UUID, part_item_id: uuid.UUID) -> str:
    return f"{PART}:{org_id}:{part_item_id}"


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
