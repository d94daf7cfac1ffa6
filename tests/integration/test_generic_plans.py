"""No list statement ever runs a generic plan: each execution is planned for its own tenant.

Postgres switches a prepared statement (asyncpg prepares every query) to a generic plan after five
executions when that plan looks no dearer than the custom ones so far; every organization shares
the statement, so the small tenant would run a plan costed on the big one's statistics. The list
helper (`listing.fetch_page`) sets `plan_cache_mode = force_custom_plan` for its transaction; the
rest of the session (writes, their foreign-key checks and triggers) keeps its cached plans.
"""

from __future__ import annotations

import uuid

import asyncpg

from amss.app.paging import PageRequest
from amss.app.sorts import TASK_SORTS
from amss.app.tasks.ports import TaskFilter
from amss.infra.postgres import listing
from amss.infra.postgres.sql import Connection
from amss.infra.postgres.tasks_repo import PgTaskRepository
from tests.integration.factories import make_org

EXECUTIONS = 8
PAGE = PageRequest(limit=20, sort="created_at", descending=True)


def _list_statement(org_id: uuid.UUID) -> str:
    where = listing.Where("org_id = {}", org_id).add("deleted_at IS NULL")
    sql, _ = listing.page_query("SELECT id, created_at FROM maintenance_tasks", where, PAGE, TASK_SORTS)
    return sql


async def _plans(conn: Connection, sql: str) -> tuple[int, int]:
    row = await conn.fetchrow(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1", sql
    )
    assert row is not None, "the statement was not prepared on this connection"
    return row["generic_plans"], row["custom_plans"]


async def _list_statements(conn: Connection) -> list[str]:
    rows = await conn.fetch("SELECT statement FROM pg_prepared_statements")
    return [
        row["statement"]
        for row in rows
        if " FROM maintenance_tasks WHERE org_id = $1" in row["statement"]
        and "ORDER BY created_at DESC" in row["statement"]
    ]


async def test_a_list_is_planned_for_each_tenant_every_time(pg_pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
    big, small = await make_org(conn), await make_org(conn)
    async with pg_pool.acquire() as pooled:
        repository = PgTaskRepository(pooled)
        for org_id in [big] * EXECUTIONS + [small]:
            async with pooled.transaction():  # as a unit of work runs it
                await repository.list_page(org_id, PAGE, TaskFilter())
                assert await pooled.fetchval("SHOW plan_cache_mode") == "force_custom_plan"
            # the setting ends with the unit of work: the session's other statements keep their cached plans
            assert await pooled.fetchval("SHOW plan_cache_mode") == "auto"
        await repository.list_page(small, PAGE, TaskFilter())  # outside a transaction: in one of its own
        assert await pooled.fetchval("SHOW plan_cache_mode") == "auto"
        [statement] = await _list_statements(pooled)
        assert await _plans(pooled, statement) == (0, EXECUTIONS + 2)


async def test_without_the_setting_a_shared_statement_goes_generic(database_url: str) -> None:
    """The trap the setting closes: a plain session reuses one generic plan for every tenant."""
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SHOW plan_cache_mode") == "auto"
        big, small = await make_org(conn), await make_org(conn)
        sql = _list_statement(big)
        for org_id in [big] * EXECUTIONS + [small]:
            await conn.fetch(sql, org_id)
        generic, custom = await _plans(conn, sql)
        assert custom == 5
        assert generic == EXECUTIONS + 1 - 5
    finally:
        await conn.close()
