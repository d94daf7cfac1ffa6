"""The `amss` command line against the run's database: migrate, create-admin, seed, config errors."""

from __future__ import annotations

import asyncpg
import orjson

from amss.auth.passwords import hash_cost, verify_password
from amss.infra.postgres.migrations import load_migrations
from amss.infra.postgres.seed import DEMO_ORG_NAME, DEMO_PASSWORD, DEMO_USERS
from amss.infra.postgres.sql import fetch_one
from tests.cli_helpers import cli_env, run_cli
from tests.integration.factories import short_id

_TABLES = (
    "organizations",
    "org_policies",
    "users",
    "aircraft",
    "maintenance_programs",
    "maintenance_tasks",
    "part_definitions",
    "part_items",
    "compliance_items",
    "audit_logs",
)


async def test_migrate_status_lists_every_migration_as_applied(database_url: str) -> None:
    result = run_cli(["migrate", "status"], cli_env(database_url))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == len(load_migrations())
    assert all("pending" not in line for line in lines)


async def test_migrate_up_on_a_migrated_database_changes_nothing(database_url: str) -> None:
    result = run_cli(["migrate", "up"], cli_env(database_url))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("applied 0 migration(s)")


async def test_create_admin_creates_organization_policy_and_admin(database_url: str, conn: asyncpg.Connection) -> None:
    email, org = f"root-{short_id()}@example.test", f"Root {short_id()}"
    result = run_cli(
        ["create-admin", "--org", org, "--email", email], cli_env(database_url, AMSS_ADMIN_PASSWORD="a-long-password-1")
    )
    assert result.returncode == 0, result.stderr
    printed = orjson.loads(result.stdout)
    assert set(printed) == {"org_id", "user_id"}
    user = await fetch_one(
        conn, "SELECT org_id::text, role::text, password_hash FROM users WHERE id = $1::uuid", printed["user_id"]
    )
    assert user["org_id"] == printed["org_id"] and user["role"] == "admin"
    assert verify_password("a-long-password-1", user["password_hash"])
    assert await conn.fetchval("SELECT count(*) FROM org_policies WHERE org_id = $1::uuid", printed["org_id"]) == 1
    audited = await conn.fetch(
        "SELECT entity_type, details->'actor'->>'job' AS job FROM audit_logs"
        " WHERE org_id = $1::uuid ORDER BY entity_type",
        printed["org_id"],
    )
    assert [(row["entity_type"], row["job"]) for row in audited] == [
        ("organization", "create-admin"),
        ("user", "create-admin"),
    ]


async def test_create_admin_hashes_at_the_configured_cost(database_url: str, conn: asyncpg.Connection) -> None:
    email = f"cost-{short_id()}@example.test"
    env = cli_env(database_url, AMSS_ADMIN_PASSWORD="a-long-password-1", BCRYPT_ROUNDS="5")
    result = run_cli(["create-admin", "--org", f"Cost {short_id()}", "--email", email], env)
    assert result.returncode == 0, result.stderr
    assert hash_cost(await conn.fetchval("SELECT password_hash FROM users WHERE email = $1", email)) == 5


async def test_create_admin_reads_the_password_from_stdin(database_url: str, conn: asyncpg.Connection) -> None:
    email = f"stdin-{short_id()}@example.test"
    result = run_cli(
        ["create-admin", "--org", f"Org {short_id()}", "--email", email],
        cli_env(database_url),
        stdin="from-stdin-password\n",
    )
    assert result.returncode == 0, result.stderr
    password_hash = await conn.fetchval("SELECT password_hash FROM users WHERE email = $1", email)
    assert verify_password("from-stdin-password", password_hash)


async def test_create_admin_with_an_existing_email_fails_clearly(database_url: str, conn: asyncpg.Connection) -> None:
    email = f"twice-{short_id()}@example.test"
    env = cli_env(database_url, AMSS_ADMIN_PASSWORD="a-long-password-1")
    assert run_cli(["create-admin", "--org", f"Org {short_id()}", "--email", email], env).returncode == 0
    again = run_cli(["create-admin", "--org", f"Org {short_id()}", "--email", email.upper()], env)
    assert again.returncode == 1
    assert "already exists" in again.stderr
    assert again.stdout == ""
    assert await conn.fetchval("SELECT count(*) FROM users WHERE email = $1", email) == 1


async def test_create_admin_refuses_a_short_password(database_url: str) -> None:
    result = run_cli(
        ["create-admin", "--org", "Short", "--email", f"s-{short_id()}@example.test"],
        cli_env(database_url, AMSS_ADMIN_PASSWORD="short"),
    )
    assert result.returncode == 1
    assert "at least 12 characters" in result.stderr


async def test_seed_creates_demo_data_once_and_rerunning_changes_nothing(
    database_url: str, conn: asyncpg.Connection
) -> None:
    # hashed at BCRYPT_ROUNDS, like every other hash, so login timing does not single out the demo accounts
    first = run_cli(["seed"], cli_env(database_url, BCRYPT_ROUNDS="5"))
    assert first.returncode == 0, first.stderr
    org_id = await conn.fetchval("SELECT id FROM organizations WHERE name = $1", DEMO_ORG_NAME)
    roles = {
        row["role"]: row
        for row in await conn.fetch(
            "SELECT role::text, email::text, password_hash FROM users WHERE org_id = $1", org_id
        )
    }
    assert set(roles) == {role.value for role in DEMO_USERS}
    assert verify_password(DEMO_PASSWORD, roles["mechanic"]["password_hash"])
    assert {hash_cost(row["password_hash"]) for row in roles.values()} == {5}
    for table in ("aircraft", "part_items", "maintenance_programs", "maintenance_tasks"):
        assert await conn.fetchval(f"SELECT count(*) FROM {table} WHERE org_id = $1", org_id) > 0
    assert (
        await conn.fetchval(
            "SELECT count(*) FROM maintenance_programs"
            " WHERE org_id = $1 AND interval_type = 'calendar' AND aircraft_id IS NOT NULL",
            org_id,
        )
        >= 1
    )
    seeded_times = [
        value
        for details in await conn.fetch("SELECT details::text FROM audit_logs WHERE org_id = $1", org_id)
        for value in orjson.loads(details["details"]).get("fields", {}).values()
        if isinstance(value, str) and value[:4].isdigit() and "T" in value
    ]
    assert seeded_times, "the seeded audit details record times"
    assert all(value.endswith("Z") and "+00:00" not in value for value in seeded_times), seeded_times
    counts = {table: await conn.fetchval(f"SELECT count(*) FROM {table}") for table in _TABLES}

    second = run_cli(["seed"], cli_env(database_url))
    assert second.returncode == 0, second.stderr
    assert orjson.loads(second.stdout)["seeded"] is False
    assert {table: await conn.fetchval(f"SELECT count(*) FROM {table}") for table in _TABLES} == counts


async def test_invalid_configuration_exits_2_with_one_line_per_variable(database_url: str) -> None:
    result = run_cli(["migrate", "status"], cli_env(database_url, HTTP_ADDR="bogus", AMSS_PARTITIONS="-1"))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2
    assert any(line.startswith("config: HTTP_ADDR: ") for line in lines)
    assert any(line.startswith("config: AMSS_PARTITIONS: ") for line in lines)


async def test_keys_generate_writes_a_usable_pair(tmp_path: object) -> None:
    from pathlib import Path

    from amss.auth.keys import public_jwk

    out = Path(str(tmp_path)) / "keys"
    result = run_cli(["keys", "generate", "--out-dir", str(out)], cli_env("postgresql://unused/x"))
    assert result.returncode == 0, result.stderr
    assert (out / "jwt-private.pem").stat().st_mode & 0o777 == 0o600
    assert public_jwk((out / "jwt-public.pem").read_text())["kty"] == "RSA"
    again = run_cli(["keys", "generate", "--out-dir", str(out)], cli_env("postgresql://unused/x"))
    assert again.returncode == 1 and "--force" in again.stderr
