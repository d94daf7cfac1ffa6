"""The one SQL helper for filtered, keyset-paginated lists.

Clause templates and column names come from the repositories (constants); every value is a
numbered parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

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


async def fetch_page(
    conn: Connection,
    select: str,
    where: Where,
    page: PageRequest,
    sortable: Mapping[str, SortColumn],
    build: Callable[[asyncpg.Record], T],
) -> Page[T]:
    sql, args = page_query(select, where, page, sortable)
    return to_page(await conn.fetch(sql, *args), page, sortable, build)
