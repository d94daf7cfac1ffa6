"""Every filter and every sort a list route allows is served by an index, read from the planner.

Driven by the routing table: each GET route with `sorts`, each field of its query model, each
sort of its allow-list, both directions, with and without a cursor. The statement is the one the
repository really issues (recorded from `listing.page_query` while the real request runs); its
plan comes from `EXPLAIN (FORMAT JSON)` on a fresh, migrated, never-analysed database of this
module's own, so the planner knows nothing but the schema and its default estimates:

- ordered (every sort; every filter with the default sort), with `enable_seqscan`, `enable_sort`
  and `enable_incremental_sort` off: a Sort or a Seq Scan would appear only if no index can give
  the rows in order, so there must be none (a page is then an index range read at any size);
- narrowed (every equality filter: ids, enums, texts, booleans), the statement's WHERE alone (less
  the soft-delete condition) with `enable_seqscan` off: an index must find the rows by the
  filter's column (in its condition right after the columns pinned by `=`, or in the predicate of
  the partial index used), so a filter never reads the whole organization to find its rows.
  Range filters (`from`, `start_to`, `expiry_before`, …) bound an ordered index range instead.

A new filter or sort without an index fails here, before anyone times anything.
"""

from __future__ import annotations

import re
import types
import typing
import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import AwareDatetime, BaseModel

import amss.app.sorts as sorts_module
from amss.api.rest.bodies import encode_cursor
from amss.api.rest.routing import ROUTE_SPECS, RouteSpec
from amss.app.paging import SortColumn, SortKind
from amss.bootstrap.server import init_server_app
from amss.config import Settings
from amss.infra.postgres import listing
from amss.infra.postgres.pool import init_connection
from tests.api_support import Member, call, make_tenant
from tests.backends import Backends, migrated_database
from tests.clients import ApiClient
from tests.integration.factories import make_import, make_webhook

ORDERED = "SET enable_seqscan = off; SET enable_sort = off; SET enable_incremental_sort = off"
NARROWED = "SET enable_seqscan = off; SET enable_sort = on; SET enable_incremental_sort = on"
SOFT_DELETE = "deleted_at IS NULL"
_RANGE = re.compile(r"\s(<|>|<=|>=)\s")
_COLUMN = re.compile(r'"?([a-z_]+)"?')


@dataclass(frozen=True)
class Statement:
    sql: str
    args: tuple[Any, ...]

    @property
    def table(self) -> str:
        match = re.search(r" FROM (\w+)", self.sql)
        assert match, self.sql
        return match.group(1)

    @property
    def clauses(self) -> list[str]:
        where = self.sql.split(" WHERE ", 1)[1].split(" ORDER BY ", 1)[0]
        return where.split(" AND ")

    @property
    def unordered(self) -> str:
        """The statement's WHERE alone, less the soft-delete condition: without statistics the planner
        takes `deleted_at IS NULL` for a rare value, which it is not (nearly every row is live)."""
        head = self.sql.split(" WHERE ", 1)[0]
        return f"{head} WHERE {' AND '.join(c for c in self.clauses if c != SOFT_DELETE)}"


@pytest.fixture(scope="module")
async def plan_db(backends: Backends) -> AsyncIterator[str]:
    async with migrated_database(backends.server_url, "plans") as url:
        yield url


@pytest.fixture
async def plan_conn(plan_db: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(plan_db)
    await init_connection(connection)
    yield connection
    await connection.close()


@pytest.fixture
async def plan_app(api_settings: Settings, plan_db: str) -> web.Application:
    return init_server_app(api_settings.model_copy(update={"db_url": plan_db}))


@pytest.fixture
async def plan_api(plan_app: web.Application) -> AsyncIterator[ApiClient]:
    client = TestClient(TestServer(plan_app))
    await client.start_server()
    yield client
    await client.close()


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[Statement]:
    """The list statements the real requests issue (the real query still runs)."""
    statements: list[Statement] = []
    original = listing.page_query

    def recording(*args: Any, **kwargs: Any) -> tuple[str, list[Any]]:
        sql, values = original(*args, **kwargs)
        statements.append(Statement(sql, tuple(values)))
        return sql, values

    monkeypatch.setattr(listing, "page_query", recording)
    return statements


def list_routes(app: web.Application) -> list[RouteSpec]:
    return sorted((s for s in app[ROUTE_SPECS].values() if s.method == "GET" and s.sorts), key=lambda s: s.path)


def sort_columns() -> dict[tuple[str, ...], Mapping[str, SortColumn]]:
    """Every `*_SORTS` allow-list of the query vocabulary, by its names in order (as routes declare them)."""
    return {
        tuple(value): value
        for name, value in vars(sorts_module).items()
        if name.endswith("_SORTS") and isinstance(value, dict)
    }


def _plain_type(annotation: Any) -> Any:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _plain_type(options[0])
    if typing.get_origin(annotation) is typing.Annotated:
        return _plain_type(typing.get_args(annotation)[0])
    return annotation


def sample_value(annotation: Any) -> str:
    """A value of the filter's type; never one the (empty) tables hold."""
    kind = _plain_type(annotation)
    if kind is uuid.UUID:
        return str(uuid.uuid4())
    if isinstance(kind, type) and issubclass(kind, Enum):
        return str(list(kind)[-1].value)
    if kind is bool:
        return "true"
    if kind is AwareDatetime or (isinstance(kind, type) and issubclass(kind, datetime)):
        return "2031-01-01T00:00:00Z"
    if kind is str:
        return "no-such-value"
    raise AssertionError(f"no sample for a filter of type {annotation!r}: teach test_list_plans one")


def filters(model: type[BaseModel] | None) -> dict[str, str]:
    if model is None:
        return {}
    return {(field.alias or name): sample_value(field.annotation) for name, field in model.model_fields.items()}


def cursor_value(column: SortColumn) -> object:
    if column.kind is SortKind.TIME:
        return datetime(2031, 1, 1, tzinfo=UTC)
    if column.kind is SortKind.INTEGER:
        return 1
    return min(column.labels) if column.labels else "m"


def nodes(plan: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from nodes(child)


async def explain(conn: asyncpg.Connection, settings: str, sql: str, args: tuple[Any, ...]) -> Mapping[str, Any]:
    await conn.execute(settings)
    document = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args)
    return document[0]["Plan"]  # type: ignore[no-any-return]


def ordered_problems(plan: Mapping[str, Any], table: str) -> list[str]:
    problems = [
        f"{n['Node Type']} on {n.get('Relation Name', '-')}" for n in nodes(plan) if n["Node Type"] == "Seq Scan"
    ]
    problems += [n["Node Type"] for n in nodes(plan) if "Sort" in n["Node Type"]]
    scans = [n for n in nodes(plan) if n.get("Relation Name") == table]
    if not scans or any(n["Node Type"] not in ("Index Scan", "Index Only Scan") for n in scans):
        problems.append(f"{table} is not read by an index in order")
    return problems


async def narrows(conn: asyncpg.Connection, plan: Mapping[str, Any], table: str, column: str) -> bool:
    """Whether an index scan of `table` in the plan finds the rows by `column`: the column is in its
    condition with every index column before it pinned by `=` (not merely checked while the scan
    reads the whole organization), or in the predicate of the partial index used."""
    for node in nodes(plan):
        if node.get("Relation Name", table) != table or "Index Name" not in node:
            continue
        row = await conn.fetchrow(
            "SELECT i.indnkeyatts AS keys, pg_get_expr(i.indpred, i.indrelid) AS predicate FROM pg_index i"
            " WHERE i.indexrelid = $1::regclass",
            node["Index Name"],
        )
        assert row is not None
        if column in (row["predicate"] or ""):
            return True
        condition = node.get("Index Cond", "")
        for position in range(1, row["keys"] + 1):
            key = await conn.fetchval("SELECT pg_get_indexdef($1::regclass, $2, true)", node["Index Name"], position)
            if column in key:
                if column in condition:
                    return True
                break
            if f"({key} = " not in condition:
                break
    return False


async def test_every_sort_and_filter_of_every_list_is_served_by_an_index(
    plan_api: ApiClient,
    plan_app: web.Application,
    plan_conn: asyncpg.Connection,
    recorded: list[Statement],
    test_password_hash: str,
) -> None:
    tenant = await make_tenant(plan_conn, plan_app, test_password_hash)
    await plan_conn.execute(
        "INSERT INTO org_policies (org_id, api_rate_limit_per_min) VALUES ($1, 1000000)"
        " ON CONFLICT (org_id) DO UPDATE SET api_rate_limit_per_min = 1000000",
        tenant.org_id,
    )
    caller: Member = tenant["admin"]
    allow_lists = sort_columns()
    failures: list[str] = []
    checked = 0

    # a list under an object (an import's rows, a webhook's deliveries) lists those of one of the tenant's objects
    owners = {
        "/api/v1/imports/{id}/rows": await make_import(plan_conn, tenant.org_id, tenant["scheduler"].user_id),
        "/api/v1/webhooks/{id}/deliveries": await make_webhook(plan_conn, tenant.org_id),
    }

    async def issue(spec: RouteSpec, query: dict[str, str]) -> Statement:
        recorded.clear()
        path = spec.path.replace("{id}", str(owners[spec.path])) if "{id}" in spec.path else spec.path
        status, body, _ = await call(plan_api, "GET", path, caller, params=query)
        assert status == 200, (spec.path, query, body)
        assert len(recorded) == 1, (spec.path, query, recorded)
        return recorded[0]

    routes = list_routes(plan_app)
    assert len(routes) >= 10, [s.path for s in routes]
    for spec in routes:
        columns = allow_lists[spec.sorts]
        baseline = await issue(spec, {})
        for sort in spec.sorts:
            for descending in (False, True):
                name = ("-" if descending else "") + sort
                cursor = encode_cursor(sort, descending, (cursor_value(columns[sort]), uuid.uuid4()))
                for query in ({"sort": name}, {"sort": name, "cursor": cursor}):
                    statement = await issue(spec, query)
                    plan = await explain(plan_conn, ORDERED, statement.sql, statement.args)
                    checked += 1
                    for problem in ordered_problems(plan, statement.table):
                        failures.append(f"{spec.path}?{'&'.join(query)}={name}: {problem}")
        for parameter, value in filters(spec.query_model).items():
            statement = await issue(spec, {parameter: value})
            label = f"{spec.path}?{parameter}={value}"
            plan = await explain(plan_conn, ORDERED, statement.sql, statement.args)
            checked += 1
            failures += [f"{label}: {problem}" for problem in ordered_problems(plan, statement.table)]
            added = [clause for clause in statement.clauses if clause not in baseline.clauses]
            assert added, f"{label} added no condition to {statement.sql}"
            for clause in added:
                if _RANGE.search(clause):
                    continue
                match = _COLUMN.search(clause)
                assert match, clause
                narrowed = await explain(plan_conn, NARROWED, statement.unordered, statement.args)
                if not await narrows(plan_conn, narrowed, statement.table, match.group(1)):
                    failures.append(f"{label}: no index narrows `{clause}` (plan: {narrowed['Node Type']})")
    assert not failures, "\n".join(failures)
    assert checked > 100
