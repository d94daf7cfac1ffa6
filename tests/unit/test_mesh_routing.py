"""Pure mesh rules: where an actor's commands go, who owns a partition, retry backoff, and `Prefer`."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from amss.actors.partition import backoff_seconds, entry_age_seconds
from amss.actors.partitioning import aircraft_actor, owner_of, part_actor, partition_of, partitions_of, stable_hash
from amss.api.rest.handlers.commands import requested_wait
from amss.config import load_settings
from amss.runtime import SETTINGS

ORG = uuid.UUID("00000000-0000-0000-0000-000000000001")
AIRCRAFT = uuid.UUID("00000000-0000-0000-0000-000000000002")
PART_ORG = uuid.UUID("11111111-1111-1111-1111-111111111111")
PART_ITEM = uuid.UUID("22222222-2222-2222-2222-222222222222")

# computed once with BLAKE2b-64: any change to the hash moves every actor to another partition
KNOWN_HASHES = [
    ("", 16476032584258269876, 4),
    (aircraft_actor(ORG, AIRCRAFT), 12479453362309446808, 8),
    (part_actor(PART_ORG, PART_ITEM), 1283379033727513818, 10),
    ("worker-a#3", 9736542219411431944, 8),
]


@pytest.mark.parametrize(("text", "expected_hash", "partition_of_16"), KNOWN_HASHES)
def test_stable_hash_and_partition_have_fixed_values(text: str, expected_hash: int, partition_of_16: int) -> None:
    assert stable_hash(text) == expected_hash
    assert partition_of(text, 16) == partition_of_16
    assert partition_of(text, 16) == expected_hash % 16


def test_another_process_with_another_hash_seed_computes_the_same_partitions() -> None:
    actors = [aircraft_actor(uuid.UUID(int=n), uuid.UUID(int=n * 7919)) for n in range(50)]
    script = (
        "import sys; from amss.actors.partitioning import partition_of;"
        " print(','.join(str(partition_of(a, 16)) for a in sys.argv[1:]))"
    )
    for seed in ("1", "2"):
        output = subprocess.run(
            [sys.executable, "-c", script, *actors],
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout
        assert output.strip() == ",".join(str(partition_of(actor, 16)) for actor in actors)


def test_actor_names_carry_kind_org_and_entity() -> None:
    assert aircraft_actor(ORG, AIRCRAFT) == f"aircraft:{ORG}:{AIRCRAFT}"
    assert part_actor(PART_ORG, PART_ITEM) == f"part:{PART_ORG}:{PART_ITEM}"


def test_a_partition_has_no_owner_without_workers() -> None:
    assert owner_of(0, []) is None


def test_ownership_does_not_depend_on_the_order_workers_are_listed() -> None:
    workers = ["worker-a", "worker-b", "worker-c"]
    assert [owner_of(p, workers) for p in range(64)] == [owner_of(p, reversed(workers)) for p in range(64)]


def test_every_partition_has_exactly_one_owner() -> None:
    workers = ["worker-a", "worker-b", "worker-c", "worker-d"]
    shares = [partitions_of(worker, workers, 64) for worker in workers]
    assert sorted(p for share in shares for p in share) == list(range(64))
    assert all(shares), "each of four workers should own some of 64 partitions"


def test_a_joining_worker_takes_partitions_only_for_itself() -> None:
    before = ["worker-a", "worker-b", "worker-c"]
    after = [*before, "worker-d"]
    moved = {
        p: (owner_of(p, before), owner_of(p, after)) for p in range(64) if owner_of(p, before) != owner_of(p, after)
    }
    assert moved, "the new worker should get a share"
    assert {new for _, new in moved.values()} == {"worker-d"}
    assert set(moved) == partitions_of("worker-d", after, 64)


def test_a_leaving_worker_gives_up_only_its_own_partitions() -> None:
    before = ["worker-a", "worker-b", "worker-c", "worker-d"]
    after = ["worker-a", "worker-c", "worker-d"]
    moved = {p for p in range(64) if owner_of(p, before) != owner_of(p, after)}
    assert moved == partitions_of("worker-b", before, 64)


def test_a_worker_counts_itself_live_when_computing_its_share() -> None:
    assert partitions_of("worker-a", [], 8) == set(range(8))
    assert partitions_of("worker-a", ["worker-b"], 8) == partitions_of("worker-a", ["worker-a", "worker-b"], 8)


@pytest.mark.parametrize(
    ("attempt", "seconds"), [(1, 0.05), (2, 0.1), (3, 0.2), (5, 0.8), (6, 1.6), (7, 2.0), (8, 2.0), (60, 2.0)]
)
def test_retry_backoff_doubles_then_caps_at_two_seconds(attempt: int, seconds: float) -> None:
    assert backoff_seconds(attempt) == pytest.approx(seconds)


def test_entry_age_comes_from_the_stream_id_and_is_never_negative() -> None:
    assert entry_age_seconds(b"1000-0", 3500) == pytest.approx(2.5)
    assert entry_age_seconds(b"5000-3", 3500) == 0.0


def prefer_request(*prefer: str) -> web.Request:
    app = web.Application()
    app[SETTINGS] = load_settings({}, amss_command_wait="7s")
    headers = [("Prefer", value) for value in prefer]
    return make_mocked_request("POST", "/api/v1/anything", headers=headers, app=app)


@pytest.mark.parametrize(
    ("prefer", "expected"),
    [
        ((), (7.0, None)),
        (("wait=5",), (5.0, "wait=5")),
        (("wait=2.5",), (2.5, "wait=2.5")),
        (("WAIT = 3",), (3.0, "wait=3")),
        (("return=minimal, wait=4",), (4.0, "wait=4")),
        (("return=minimal", "wait=6"), (6.0, "wait=6")),
        (("wait=30",), (30.0, "wait=30")),
        # capped at 30 s, and Preference-Applied says what was applied, not what was asked
        (("wait=99",), (30.0, "wait=30")),
        (("respond-async",), (0.0, "respond-async")),
        (("respond-async, wait=10",), (0.0, "respond-async")),
        (("wait=10", "respond-async"), (0.0, "respond-async")),
        (("handling=lenient",), (7.0, None)),
        (("nowait=3",), (7.0, None)),
    ],
)
def test_requested_wait_follows_prefer(prefer: tuple[str, ...], expected: tuple[float, str | None]) -> None:
    assert requested_wait(prefer_request(*prefer)) == expected
