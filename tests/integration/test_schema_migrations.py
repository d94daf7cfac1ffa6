"""The migrations apply, revert completely, re-apply, redo, and serialise concurrent runs.

Each test works on a fresh database of its own, never on the run's shared one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from amss.infra.postgres.database import drop_database, ensure_database
from amss.infra.postgres.migrations import Migration, MigrationError, Migrator, applied_versions, load_migrations
from tests.backends import Backends, unique_name, with_database

MIGRATIONS = load_migrations()
ALL_VERSIONS = [m.version for m in MIGRATIONS]


@pytest.fixture
async def fresh_url(backends: Backends) -> AsyncIterator[str]:
    url = with_database(backends.server_url, unique_name("migrations"))
    await ensure_database(url)
    try:
        yield url
    finally:
        await drop_database(url)


@pytest.fixture
async def fresh_conn(fresh_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(fresh_url)
    yield conn
    await conn.close()


async def _public_relations(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f') ORDER BY c.relname"
    )
    return [row["relname"] for row in rows]


async def _public_enum_types(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
        " WHERE n.nspname = 'public' AND t.typtype = 'e' ORDER BY t.typname"
    )
    return [row["typname"] for row in rows]


async def _public_functions(conn: asyncpg.Connection) -> list[str]:
    rows = await conn.fetch(
        "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname = 'public' ORDER BY p.proname"
    )
    return [row["proname"] for row in rows]


async def _version_rows(conn: asyncpg.Connection) -> dict[int, list[bool]]:
    rows = await conn.fetch("SELECT version_id, is_applied FROM goose_db_version ORDER BY id")
    recorded: dict[int, list[bool]] = {}
    for row in rows:
        recorded.setdefault(int(row["version_id"]), []).append(row["is_applied"])
    return recorded


async def _schema_snapshot(conn: asyncpg.Connection) -> dict[str, list[tuple[str, ...]]]:
    """Columns, constraints, indexes, triggers, types and functions of the public schema, as text."""
    queries = {
        "columns": "SELECT table_name::text, column_name::text, data_type::text, is_nullable::text,"
        " coalesce(column_default, ''), coalesce(generation_expression, '')"
        " FROM information_schema.columns WHERE table_schema = 'public'",
        "constraints": "SELECT conrelid::regclass::text, conname::text, pg_get_constraintdef(oid)"
        " FROM pg_constraint WHERE connamespace = 'public'::regnamespace",
        "indexes": "SELECT tablename::text, indexname::text, indexdef FROM pg_indexes WHERE schemaname = 'public'",
        "triggers": "SELECT tgrelid::regclass::text, tgname::text, tgenabled::text, pg_get_triggerdef(oid)"
        " FROM pg_trigger WHERE NOT tgisinternal",
        "types": "SELECT typname::text, typtype::text FROM pg_type WHERE typnamespace = 'public'::regnamespace",
        "functions": "SELECT proname::text, md5(prosrc) FROM pg_proc WHERE pronamespace = 'public'::regnamespace",
    }
    return {name: sorted(tuple(row) for row in await conn.fetch(sql)) for name, sql in queries.items()}


def _versions(migrations: list[Migration]) -> list[int]:
    return [m.version for m in migrations]


async def test_all_migrations_revert_to_an_empty_schema_and_apply_again(fresh_conn: asyncpg.Connection) -> None:
    async with Migrator(fresh_conn, MIGRATIONS) as migrator:
        assert _versions(await migrator.up()) == ALL_VERSIONS
        assert "maintenance_tasks" in await _public_relations(fresh_conn)
        assert "task_state" in await _public_enum_types(fresh_conn)
        complete = await _schema_snapshot(fresh_conn)

        assert _versions(await migrator.down(to_version=0)) == ALL_VERSIONS[::-1]
        assert await _public_relations(fresh_conn) == ["goose_db_version"]
        assert await _public_enum_types(fresh_conn) == []
        assert await _public_functions(fresh_conn) == []
        assert await applied_versions(fresh_conn) == {}

        assert _versions(await migrator.up()) == ALL_VERSIONS
        assert sorted(await applied_versions(fresh_conn)) == ALL_VERSIONS
        assert all(status.applied_at is not None for status in await migrator.status())
        assert await migrator.up() == []
    assert await _schema_snapshot(fresh_conn) == complete


async def test_concurrent_migrators_apply_each_version_exactly_once(fresh_url: str) -> None:
    first, second = await asyncpg.connect(fresh_url), await asyncpg.connect(fresh_url)

    async def migrate(conn: asyncpg.Connection) -> list[int]:
        async with Migrator(conn, MIGRATIONS) as migrator:
            return _versions(await migrator.up())

    try:
        results = await asyncio.gather(migrate(first), migrate(second))
        recorded = await _version_rows(first)
    finally:
        await first.close()
        await second.close()

    # the advisory lock lets one migrator apply everything; the other then finds nothing to do
    assert sorted(results, key=len) == [[], ALL_VERSIONS]
    assert recorded == {version: [True] for version in [0, *ALL_VERSIONS]}


async def test_redo_reverts_and_reapplies_the_latest_migration(fresh_conn: asyncpg.Connection) -> None:
    latest = ALL_VERSIONS[-1]
    async with Migrator(fresh_conn, MIGRATIONS) as migrator:
        await migrator.up()
        before = await _schema_snapshot(fresh_conn)
        org_id = await fresh_conn.fetchval("INSERT INTO organizations (name) VALUES ('redo') RETURNING id")

        redone = await migrator.redo()

        assert redone is not None
        assert redone.version == latest
        assert sorted(await applied_versions(fresh_conn)) == ALL_VERSIONS
    assert (await _version_rows(fresh_conn))[latest] == [True]
    assert await _schema_snapshot(fresh_conn) == before
    # only the latest migration was reverted: the rows of the earlier ones survive
    assert await fresh_conn.fetchval("SELECT count(*) FROM organizations WHERE id = $1", org_id) == 1


async def test_down_by_steps_reverts_only_the_latest_migrations(fresh_conn: asyncpg.Connection) -> None:
    async with Migrator(fresh_conn, MIGRATIONS) as migrator:
        await migrator.up()
        complete = await _schema_snapshot(fresh_conn)

        reverted = await migrator.down(steps=2)

        assert _versions(reverted) == ALL_VERSIONS[:-3:-1]
        assert sorted(await applied_versions(fresh_conn)) == ALL_VERSIONS[:-2]
        assert await _schema_snapshot(fresh_conn) != complete
        assert _versions(await migrator.up()) == ALL_VERSIONS[-2:]
    assert await _schema_snapshot(fresh_conn) == complete


async def test_every_trigger_of_the_schema_is_enabled_always(fresh_conn: asyncpg.Connection) -> None:
    async with Migrator(fresh_conn, MIGRATIONS) as migrator:
        await migrator.up()
    triggers = await fresh_conn.fetch(
        "SELECT tgrelid::regclass::text AS tbl, tgname, tgenabled::text AS enabled FROM pg_trigger"
        " WHERE NOT tgisinternal ORDER BY tgname"
    )

    assert {row["tgname"] for row in triggers} >= {
        "audit_logs_immutable_row",
        "audit_logs_immutable_truncate",
        "compliance_items_immutable_after_sign_off",
        "part_items_expiry_in_future",
        "part_reservations_item_available",
    }
    # 'A' = ENABLE ALWAYS: session_replication_role = replica does not switch them off
    assert [(row["tbl"], row["tgname"]) for row in triggers if row["enabled"] != "A"] == []


async def test_a_no_transaction_migration_builds_its_index_concurrently(
    fresh_conn: asyncpg.Connection, tmp_path: Path
) -> None:
    """`-- +goose NO TRANSACTION`: each statement runs on its own (CREATE INDEX CONCURRENTLY refuses a
    transaction block), the version is recorded after the last, and a failure records nothing."""
    (tmp_path / "00001_table.sql").write_text(
        "-- +goose Up\nCREATE TABLE t (c integer);\nINSERT INTO t SELECT generate_series(1, 100);\n"
        "-- +goose Down\nDROP TABLE t;\n"
    )
    (tmp_path / "00002_index.sql").write_text(
        "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY t_c_idx ON t (c);\n"
        "-- +goose Down\nDROP INDEX CONCURRENTLY t_c_idx;\n"
    )
    async with Migrator(fresh_conn, load_migrations(tmp_path)) as migrator:
        await migrator.up()
    valid = await fresh_conn.fetchval("SELECT indisvalid FROM pg_index WHERE indexrelid = 't_c_idx'::regclass")
    assert valid is True
    assert set(await applied_versions(fresh_conn)) == {1, 2}

    (tmp_path / "00003_broken.sql").write_text(
        "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY t_c2_idx ON t (c);\n"
        "CREATE INDEX CONCURRENTLY t_missing_idx ON t (missing);\n-- +goose Down\nSELECT 1;\n"
    )
    async with Migrator(fresh_conn, load_migrations(tmp_path)) as migrator:
        with pytest.raises(MigrationError, match=r"00003_broken\.sql"):
            await migrator.up()
    assert set(await applied_versions(fresh_conn)) == {1, 2}

    async with Migrator(fresh_conn, load_migrations(tmp_path)) as migrator:
        assert _versions(await migrator.down(to_version=1)) == [2]
    assert await fresh_conn.fetchval("SELECT to_regclass('t_c_idx')") is None
