"""maintenance_tasks_no_overlap and the generated active_window it is built on.

Only live tasks in state scheduled or in_progress have an active_window; the exclusion constraint
rejects two overlapping active windows on one aircraft of one organization.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg
import pytest

from amss.domain.errors import ScheduleOverlap
from amss.infra.postgres.errors import translate
from tests.integration.factories import make_aircraft, make_org, make_task, utc

NO_OVERLAP = "maintenance_tasks_no_overlap"


def at(hour: int) -> datetime:
    """A time of the fixed test day (tasks are per organization, so a fixed day never collides)."""
    return utc(2031, 3, 1, hour)


async def _org_with_aircraft(conn: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID]:
    org_id = await make_org(conn)
    return org_id, await make_aircraft(conn, org_id)


def _assert_overlap(exc: pytest.ExceptionInfo[asyncpg.ExclusionViolationError]) -> None:
    assert exc.value.constraint_name == NO_OVERLAP
    assert type(translate(exc.value)) is ScheduleOverlap


@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param(at(11), at(13), id="overlaps-the-end"),
        pytest.param(at(9), at(11), id="overlaps-the-start"),
        pytest.param(at(10), at(12), id="identical"),
        pytest.param(at(8), at(14), id="encloses"),
        pytest.param(at(10).replace(minute=30), at(11), id="inside"),
    ],
)
async def test_overlapping_active_windows_on_one_aircraft_are_rejected(
    conn: asyncpg.Connection, start: datetime, end: datetime
) -> None:
    org_id, aircraft_id = await _org_with_aircraft(conn)
    await make_task(conn, org_id, aircraft_id, at(10), at(12))

    with pytest.raises(asyncpg.ExclusionViolationError) as exc:
        await make_task(conn, org_id, aircraft_id, start, end)
    _assert_overlap(exc)


async def test_an_in_progress_task_blocks_an_overlapping_task(conn: asyncpg.Connection) -> None:
    org_id, aircraft_id = await _org_with_aircraft(conn)
    await make_task(conn, org_id, aircraft_id, at(10), at(12), state="in_progress")

    with pytest.raises(asyncpg.ExclusionViolationError) as exc:
        await make_task(conn, org_id, aircraft_id, at(11), at(13), state="in_progress")
    _assert_overlap(exc)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"state": "completed"}, id="completed"),
        pytest.param({"state": "cancelled"}, id="cancelled"),
        pytest.param({"deleted_at": utc(2031, 2, 1)}, id="soft-deleted"),
    ],
)
async def test_an_overlap_is_allowed_when_the_other_task_is_no_longer_active(
    conn: asyncpg.Connection, change: dict[str, Any]
) -> None:
    org_id, aircraft_id = await _org_with_aircraft(conn)
    first = await make_task(conn, org_id, aircraft_id, at(10), at(12))
    column, value = next(iter(change.items()))
    await conn.execute(f"UPDATE maintenance_tasks SET {column} = $2 WHERE id = $1", first, value)

    second = await make_task(conn, org_id, aircraft_id, at(11), at(13))

    assert second is not None


async def test_adjacent_windows_on_one_aircraft_are_allowed(conn: asyncpg.Connection) -> None:
    org_id, aircraft_id = await _org_with_aircraft(conn)
    await make_task(conn, org_id, aircraft_id, at(10), at(12))

    await make_task(conn, org_id, aircraft_id, at(12), at(14))
    await make_task(conn, org_id, aircraft_id, at(8), at(10))

    count = await conn.fetchval("SELECT count(*) FROM maintenance_tasks WHERE aircraft_id = $1", aircraft_id)
    assert count == 3


async def test_the_same_window_on_another_aircraft_is_allowed(conn: asyncpg.Connection) -> None:
    org_id, aircraft_id = await _org_with_aircraft(conn)
    other_aircraft_id = await make_aircraft(conn, org_id)
    await make_task(conn, org_id, aircraft_id, at(10), at(12))

    assert await make_task(conn, org_id, other_aircraft_id, at(10), at(12)) is not None


async def test_the_same_window_in_another_organization_is_allowed(conn: asyncpg.Connection) -> None:
    org_a, aircraft_a = await _org_with_aircraft(conn)
    org_b, aircraft_b = await _org_with_aircraft(conn)
    await make_task(conn, org_a, aircraft_a, at(10), at(12))

    assert await make_task(conn, org_b, aircraft_b, at(10), at(12)) is not None


async def test_reviving_a_cancelled_task_into_an_overlapping_window_is_rejected(conn: asyncpg.Connection) -> None:
    org_id, aircraft_id = await _org_with_aircraft(conn)
    cancelled = await make_task(conn, org_id, aircraft_id, at(10), at(12), state="cancelled")
    await make_task(conn, org_id, aircraft_id, at(11), at(13))

    with pytest.raises(asyncpg.ExclusionViolationError) as exc:
        await conn.execute("UPDATE maintenance_tasks SET state = 'scheduled' WHERE id = $1", cancelled)
    _assert_overlap(exc)


async def test_restoring_a_soft_deleted_task_into_an_overlapping_window_is_rejected(conn: asyncpg.Connection) -> None:
    org_id, aircraft_id = await _org_with_aircraft(conn)
    deleted = await make_task(conn, org_id, aircraft_id, at(10), at(12), deleted_at=utc(2031, 2, 1))
    await make_task(conn, org_id, aircraft_id, at(10), at(12))

    with pytest.raises(asyncpg.ExclusionViolationError) as exc:
        await conn.execute("UPDATE maintenance_tasks SET deleted_at = NULL WHERE id = $1", deleted)
    _assert_overlap(exc)


async def test_moving_a_task_window_into_an_overlap_is_rejected(conn: asyncpg.Connection) -> None:
    org_id, aircraft_id = await _org_with_aircraft(conn)
    await make_task(conn, org_id, aircraft_id, at(10), at(12))
    later = await make_task(conn, org_id, aircraft_id, at(13), at(15))

    with pytest.raises(asyncpg.ExclusionViolationError) as exc:
        await conn.execute(
            "UPDATE maintenance_tasks SET start_time = $2, end_time = $3 WHERE id = $1", later, at(11), at(13)
        )
    _assert_overlap(exc)


async def test_moving_a_task_to_an_aircraft_busy_in_that_window_is_rejected(conn: asyncpg.Connection) -> None:
    org_id, aircraft_id = await _org_with_aircraft(conn)
    other_aircraft_id = await make_aircraft(conn, org_id)
    await make_task(conn, org_id, aircraft_id, at(10), at(12))
    elsewhere = await make_task(conn, org_id, other_aircraft_id, at(11), at(13))

    with pytest.raises(asyncpg.ExclusionViolationError) as exc:
        await conn.execute("UPDATE maintenance_tasks SET aircraft_id = $2 WHERE id = $1", elsewhere, aircraft_id)
    _assert_overlap(exc)


@pytest.mark.parametrize("state", ["scheduled", "in_progress"])
async def test_active_window_of_a_live_active_task_is_its_half_open_window(
    conn: asyncpg.Connection, state: str
) -> None:
    org_id, aircraft_id = await _org_with_aircraft(conn)
    task_id = await make_task(conn, org_id, aircraft_id, at(10), at(12), state=state)

    window = await conn.fetchval("SELECT active_window FROM maintenance_tasks WHERE id = $1", task_id)

    assert (window.lower, window.upper) == (at(10), at(12))
    assert (window.lower_inc, window.upper_inc) == (True, False)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"state": "completed"}, id="completed"),
        pytest.param({"state": "cancelled"}, id="cancelled"),
        pytest.param({"deleted_at": utc(2031, 2, 1)}, id="soft-deleted"),
    ],
)
async def test_active_window_is_null_for_completed_cancelled_and_deleted_tasks(
    conn: asyncpg.Connection, change: dict[str, Any]
) -> None:
    org_id, aircraft_id = await _org_with_aircraft(conn)
    inserted = await make_task(conn, org_id, aircraft_id, at(10), at(12), **change)
    updated = await make_task(conn, org_id, aircraft_id, at(13), at(15))
    column, value = next(iter(change.items()))
    await conn.execute(f"UPDATE maintenance_tasks SET {column} = $2 WHERE id = $1", updated, value)

    rows = await conn.fetch(
        "SELECT active_window FROM maintenance_tasks WHERE id = ANY($1::uuid[])", [inserted, updated]
    )

    assert [row["active_window"] for row in rows] == [None, None]


async def test_active_window_cannot_be_inserted_directly(conn: asyncpg.Connection) -> None:
    org_id, aircraft_id = await _org_with_aircraft(conn)

    with pytest.raises(asyncpg.GeneratedAlwaysError):
        await conn.execute(
            "INSERT INTO maintenance_tasks (org_id, aircraft_id, type, start_time, end_time, active_window)"
            " VALUES ($1, $2, 'inspection', $3, $4, tstzrange($3, $4))",
            org_id,
            aircraft_id,
            at(10),
            at(12),
        )


async def test_active_window_cannot_be_updated_directly(conn: asyncpg.Connection) -> None:
    org_id, aircraft_id = await _org_with_aircraft(conn)
    task_id = await make_task(conn, org_id, aircraft_id, at(10), at(12))

    # a task with no window would escape the overlap check
    with pytest.raises(asyncpg.GeneratedAlwaysError):
        await conn.execute("UPDATE maintenance_tasks SET active_window = NULL WHERE id = $1", task_id)
