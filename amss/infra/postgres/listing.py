"""The one SQL helper for filtered, keyset-paginated lists.

Clause templates and column names come from the repositories (constants); every value is a
numbered parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeVar

import asyncpg

from amss.app.paging import Page, PageRequest, SortColumn
from amss.infra.postgres.sql import Connection

T = TypeVar("T")


class Where:
    """Collects `AND`-ed clauses; `{}` in a template becomes the next `$n` parameter."""

    def __init__(self, template: str | None = None, *values: Any) -> None:
        self.clauses: list[str] = []
        self.args: list[Any] = []
        if template is not None:
            self.add(template, *values)

    def add(self, template: str, *values: Any) -> Where:
        start = len(self.args) + 1
        self.clauses.append(template.format(*(f"${start + i}" for i in range(len(values)))))
        self.args.extend(values)
        return self

    def add_if(self, value: Any, template: str) -> Where:
        """Add `template` with `value` only when the value was given (is not None)."""
        if value is not None:
            self.add(template, value)
        return self

    @property
    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "TRUE"


def page_query(
    select: str, where: Where, page: PageRequest, sortable: Mapping[str, SortColumn]
) -> tuple[str, list[Any]]:
    """`select` + WHERE + keyset condition + ORDER BY (sort column, id) + LIMIT page.limit + 1."""
    column = sortable[page.sort]
    order = "DESC" if page.descending else "ASC"
    if page.after is not None:
        operator = "<" if page.descending else ">"
        value, last_id = page.after
        where.add(f"({column}, id) {operator} ({{}}, {{}})", value, last_id)
    sql = f"{select} WHERE {where.sql} ORDER BY {column} {order}, id {order} LIMIT {page.limit + 1}"
    return sql, where.args


def to_page(
    rows: Sequence[asyncpg.Record],
    page: PageRequest,
    sortable: Mapping[str, SortColumn],
    build: Callable[[asyncpg.Record], T],
) -> Page[T]:
    visible = rows[: page.limit]
    next_after = None
    if len(rows) > page.limit and visible:
        last = visible[-1]
        next_after = (last[_result_name(sortable[page.sort])], last["id"])
    return Page([build(row) for row in visible], next_after)


def _result_name(column: str) -> str:
    return column.rsplit(".", 1)[-1].strip('"')


# A list statement is planned for its own arguments, every time. asyncpg prepares every query, and
# Postgres switches a prepared statement to a generic plan after five executions when that plan
# looks no dearer than the custom ones so far; all organizations share the statement, so the small
# tenant would run a plan costed on the big one's statistics (or the reverse). Only the lists are
# exposed (their cost depends on how many rows the tenant has); the writes' statements, their
# foreign-key checks and triggers keep their cached plans (custom planning for every session cost
# the task-create path about a quarter of its throughput).
CUSTOM_PLANS: Final = "SET LOCAL plan_cache_mode = force_custom_plan"


async def fetch_page(
    conn: Connection,
    select: str,
    where: Where,
    page: PageRequest,
    sortable: Mapping[str, SortColumn],
    build: Callable[[asyncpg.Record], T],
) -> Page[T]:
    """One page, planned for this organization (see CUSTOM_PLANS); in the caller's transaction, else its own."""
    sql, args = page_query(select, where, page, sortable)
    if conn.is_in_transaction():
        await conn.execute(CUSTOM_PLANS)  # until the unit of work ends
        rows = await conn.fetch(sql, *args)
    else:
        async with conn.transaction():
            await conn.execute(CUSTOM_PLANS)
            rows = await conn.fetch(sql, *args)
    return to_page(rows, page, sortable, build)
