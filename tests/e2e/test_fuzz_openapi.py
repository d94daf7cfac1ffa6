"""schemathesis against a real amss-server and amss-worker, driven by the API's own OpenAPI document.

Every operation is fuzzed with positive and negative data (NUL characters allowed in strings),
from a fixed seed and derandomized, with real ids for the path parameters and for the ids a
body must name, as an admin. The checks: no 5xx, and every response (status, content type,
headers, body) as the document says. Login and refresh are kept out of the rate limits only by
the server's configuration (LOGIN_RATE_LIMIT_PER_IP / _PER_EMAIL) and the fuzzed organization's
policy; no code path knows about fuzzing.

`make fuzz` runs only this test. A failure prints schemathesis' report, with a curl command
reproducing each failing case; the same seed reproduces the whole run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import aiohttp
import asyncpg
import pytest

from amss.auth.keys import generate_key_pair
from amss.domain.organizations import RATE_LIMIT_CATEGORIES
from amss.infra.postgres.database import drop_database, ensure_database
from amss.infra.postgres.migrations import Migrator, load_migrations
from tests.backends import Backends, unique_name, with_database
from tests.cli_helpers import cli_env, free_port, run_cli
from tests.mesh_support import spawn

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
SEED: Final = 20_261_204
# per operation and phase; about two minutes for the whole run on two cores
MAX_EXAMPLES: Final = int(os.environ.get("AMSS_FUZZ_MAX_EXAMPLES", "15"))
CHECKS: Final = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)
ADMIN_EMAIL: Final = "fuzz-admin@fuzz.amss.dev"
PASSWORD: Final = "fuzz-password-1234"
SCHEMATHESIS_TIMEOUT: Final = 420.0


@dataclass(frozen=True)
class Stack:
    base_url: str
    token: str
    log_dir: Path


def _toml(value: Any) -> str:
    """A TOML value: JSON's strings, numbers, booleans and arrays are TOML's too; tables become inline tables."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(key)} = {_toml(item)}" for key, item in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return json.dumps(value)


# --- the system under test -----------------------------------------------------------------------


async def _migrated_database(backends: Backends) -> str:
    url = with_database(backends.server_url, unique_name("fuzz"))
    await ensure_database(url)
    conn = await asyncpg.connect(url)
    try:
        async with Migrator(conn, load_migrations()) as migrator:
            await migrator.up()
    finally:
        await conn.close()
    return url


async def _wait_healthy(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if process.poll() is not None:
                log = await asyncio.to_thread(log_path.read_text)
                raise AssertionError(f"{url} exited early with {process.returncode}:\n{log[-4000:]}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{url}/ready") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never became ready")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.asynccontextmanager
async def _running_system(backends: Backends, log_dir: Path) -> AsyncIterator[tuple[str, str]]:
    """A throwaway database, a bootstrap admin, and amss-server + amss-worker on it: (base URL, database URL)."""
    database_url = await _migrated_database(backends)
    keys = generate_key_pair()
    http_port, worker_port = free_port(), free_port()
    env = cli_env(
        database_url,
        backends.redis_url,
        JWT_PRIVATE_KEY_PEM=keys.private_pem,
        JWT_PUBLIC_KEY_PEM=keys.public_pem,
        AMSS_REDIS_PREFIX=unique_name("fuzz").replace("_", "-"),
        HTTP_ADDR=f"127.0.0.1:{http_port}",
        WORKER_HTTP_ADDR=f"127.0.0.1:{worker_port}",
        ACCESS_TOKEN_TTL="1h",
        BCRYPT_ROUNDS="4",
        DB_POOL_MIN="1",
        DB_POOL_MAX="10",
        LOG_LEVEL="warning",
        # the fuzzer logs in and refreshes far more often than a person: only configuration lifts the limits
        LOGIN_RATE_LIMIT_PER_IP="1000000",
        LOGIN_RATE_LIMIT_PER_EMAIL="1000000",
    )
    processes: list[subprocess.Popen[bytes]] = []
    try:
        created = await asyncio.to_thread(
            run_cli,
            ["create-admin", "--org", "Fuzz Airline", "--email", ADMIN_EMAIL],
            {**env, "AMSS_ADMIN_PASSWORD": PASSWORD},
        )
        assert created.returncode == 0, created.stderr
        await _allow_the_fuzzers_pace(database_url)
        for role, port in (("server", http_port), ("worker", worker_port)):
            log_path = log_dir / f"{role}.log"
            process = spawn([sys.executable, "-m", "amss.cli", role], log_path, env)
            processes.append(process)
            await _wait_healthy(f"http://127.0.0.1:{port}", process, log_path)
        yield f"http://127.0.0.1:{http_port}", database_url
    finally:
        for process in processes:
            _stop(process)
        await drop_database(database_url)


async def _allow_the_fuzzers_pace(database_url: str) -> None:
    """The fuzzed organization's policy allows far more requests than a person makes, set before the server
    starts (so no process caches the default policy)."""
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute(
            "UPDATE org_policies SET api_rate_limit_per_min = $1, rate_limits = $2::jsonb",
            1_000_000,
            json.dumps(dict.fromkeys(RATE_LIMIT_CATEGORIES, 1_000_000)),
        )
    finally:
        await conn.close()


# --- the objects the fuzzer's ids name -----------------------------------------------------------


class _Client:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str = "") -> None:
        self.session = session
        self.base_url = base_url
        self.token = token

    async def call(self, method: str, path: str, body: dict[str, Any], expect: int = 201) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.session.request(method, self.base_url + path, json=body, headers=headers) as response:
            payload: dict[str, Any] = await response.json() if response.status != 204 else {}
            assert response.status == expect, f"{method} {path}: {response.status} {payload}"
            return payload

    async def create(self, path: str, body: dict[str, Any]) -> str:
        return str((await self.call("POST", path, body))["id"])

    async def upload(self, import_type: str, content: bytes) -> str:
        """A CSV import (multipart); its id."""
        form = aiohttp.FormData()
        form.add_field("type", import_type)
        form.add_field("file", content, filename="seed.csv", content_type="text/csv")
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self.session.post(f"{self.base_url}/api/v1/imports/csv", data=form, headers=headers) as response:
            payload: dict[str, Any] = await response.json()
            assert response.status == 202, f"POST /api/v1/imports/csv: {response.status} {payload}"
            return str(payload["import_id"])


def _at(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


async def _seed(base_url: str, database_url: str) -> tuple[str, str, dict[str, dict[str, str]]]:
    """Logs the admin in, creates one object per operation that names one: (token, org id, ids by operation).

    Operations that delete or change who may act get objects of their own, so a successful DELETE
    or a demotion does not leave every later case of another operation with a 404 or a 403.
    """
    async with aiohttp.ClientSession() as session:
        anonymous = _Client(session, base_url)
        login = await anonymous.call("POST", "/api/v1/auth/login", {"email": ADMIN_EMAIL, "password": PASSWORD}, 200)
        api = _Client(session, base_url, login["access_token"])
        me = await api.call("GET", "/api/v1/users?role=admin", {}, 200)
        org_id = str(me["items"][0]["org_id"])
        other_org = await api.create("/api/v1/organizations", {"name": "Fuzzed Organization"})

        def user(tag: str, role: str) -> dict[str, str]:
            return {"email": f"{tag}@fuzz.amss.dev", "role": role, "password": PASSWORD}

        mechanic = await api.create("/api/v1/users", user("mechanic", "mechanic"))
        some_user = await api.create("/api/v1/users", user("someone", "scheduler"))
        doomed_user = await api.create("/api/v1/users", user("doomed", "auditor"))

        async def aircraft(tail: str) -> str:
            return await api.create("/api/v1/aircraft", {"tail_number": tail, "model": "A320"})

        plane, doomed_plane, busy_plane, parts_plane = [
            await aircraft(tail) for tail in ("N1FZ", "N2FZ", "N3FZ", "N4FZ")
        ]
        definition = await api.create("/api/v1/part-definitions", {"name": "Brake assembly"})
        doomed_definition = await api.create("/api/v1/part-definitions", {"name": "Unused part"})

        async def item(serial: str) -> str:
            body = {"part_definition_id": definition, "serial_number": serial, "expiry_date": _at(365)}
            return await api.create("/api/v1/part-items", body)

        part_item, doomed_item, free_item, reserved_item = [await item(f"SN-{n}") for n in range(4)]

        async def task(on: str, days: float) -> str:
            body = {
                "aircraft_id": on,
                "type": "inspection",
                "start_time": _at(days),
                "end_time": _at(days + 0.25),
                "assigned_mechanic_id": mechanic,
            }
            return await api.create("/api/v1/maintenance-tasks", body)

        a_task, doomed_task, parts_task = await task(plane, 30), await task(plane, 40), await task(parts_plane, 30)
        compliance = await api.create("/api/v1/compliance-items", {"task_id": a_task, "description": "Check brakes"})
        reservation = await api.create(
            "/api/v1/part-reservations", {"task_id": parts_task, "part_item_id": reserved_item}
        )

        async def program(name: str) -> str:
            body = {"name": name, "interval_type": "calendar", "interval_value": 90, "aircraft_id": plane}
            return await api.create("/api/v1/maintenance-programs", body)

        a_program, doomed_program = await program("A-check"), await program("Retired check")

        async def webhook(path: str) -> str:
            return await api.create(
                "/api/v1/webhooks", {"url": f"http://127.0.0.1:9/{path}", "events": ["task_created"]}
            )

        a_webhook, doomed_webhook = await webhook("fuzzed"), await webhook("doomed")
        an_import = await api.upload("parts", b"part_name,serial_number\r\nseal,SN-FUZZ-1\r\nseal,\r\n")
    conn = await asyncpg.connect(database_url)
    try:
        command = str(await conn.fetchval("SELECT id FROM commands ORDER BY created_at LIMIT 1"))
        delivery = str(await _failed_delivery(conn, org_id, a_webhook))
    finally:
        await conn.close()
    by_path = {
        "aircraft.get": plane,
        "aircraft.update": plane,
        "aircraft.usage": plane,
        "aircraft.delete": doomed_plane,
        "commands.get": command,
        "compliance_items.get": compliance,
        "compliance_items.update": compliance,
        "compliance_items.sign_off": compliance,
        "imports.get": an_import,
        "imports.rows": an_import,
        "maintenance_programs.get": a_program,
        "maintenance_programs.update": a_program,
        "maintenance_programs.delete": doomed_program,
        "maintenance_tasks.get": a_task,
        "maintenance_tasks.update": a_task,
        "maintenance_tasks.transition": a_task,
        "maintenance_tasks.delete": doomed_task,
        "organizations.get": other_org,
        "organizations.update": other_org,
        "organizations.policy.get": other_org,
        "organizations.policy.update": other_org,
        "part_definitions.get": definition,
        "part_definitions.update": definition,
        "part_definitions.delete": doomed_definition,
        "part_items.get": part_item,
        "part_items.update": part_item,
        "part_items.delete": doomed_item,
        "part_reservations.get": reservation,
        "part_reservations.state": reservation,
        "users.get": some_user,
        "users.update": some_user,
        "users.delete": doomed_user,
        "webhooks.get": a_webhook,
        "webhooks.update": a_webhook,
        "webhooks.delete": doomed_webhook,
        "webhooks.test": a_webhook,
        "webhooks.rotate_secret": a_webhook,
        "webhooks.deliveries.list": a_webhook,
        "webhooks.deliveries.redeliver": a_webhook,
    }
    parameters = {operation: {"path.id": value} for operation, value in by_path.items()}
    body_ids = {
        "maintenance_tasks.create": {"body.aircraft_id": busy_plane, "body.assigned_mechanic_id": mechanic},
        "maintenance_tasks.update": {"body.assigned_mechanic_id": mechanic},
        "maintenance_programs.create": {"body.aircraft_id": busy_plane},
        "part_items.create": {"body.part_definition_id": definition},
        "compliance_items.create": {"body.task_id": a_task},
        "part_reservations.create": {"body.task_id": parts_task, "body.part_item_id": free_item},
        "webhooks.deliveries.redeliver": {"path.delivery_id": delivery},
    }
    for operation, values in body_ids.items():
        parameters.setdefault(operation, {}).update(values)
    return str(login["access_token"]), org_id, parameters


async def _failed_delivery(conn: asyncpg.Connection, org_id: str, webhook_id: str) -> uuid.UUID:
    """A delivery the dispatcher gave up on (this suite runs no receiver), for the redeliver operation."""
    event_id = await conn.fetchval(
        "INSERT INTO outbox_events (org_id, aggregate_type, aggregate_id, event_type, payload, dedupe_key,"
        " processed_at) VALUES ($1, 'task', gen_random_uuid(), 'task_created', '{}'::jsonb, $2, now()) RETURNING id",
        uuid.UUID(org_id),
        f"fuzz:{uuid.uuid4()}",
    )
    delivery_id: uuid.UUID = await conn.fetchval(
        "INSERT INTO webhook_deliveries (org_id, webhook_id, event_id, status, attempt_count, last_error)"
        " VALUES ($1, $2, $3, 'failed', 10, 'HTTP 500') RETURNING id",
        uuid.UUID(org_id),
        uuid.UUID(webhook_id),
        event_id,
    )
    return delivery_id


# --- schemathesis --------------------------------------------------------------------------------


def _config(base_url: str, token: str, org_id: str, parameters: dict[str, dict[str, str]], reports: Path) -> str:
    lines = [
        f"seed = {SEED}",
        "color = false",
        f"base-url = {_toml(base_url)}",
        "continue-on-failure = true",
        "request-timeout = 30",
        f"headers = {_toml({'Authorization': f'Bearer {token}'})}",
        "",
        # no crash cache in the working tree: each run starts from the seed alone
        "[cache]",
        "enabled = false",
        "",
        "[reports]",
        f"directory = {_toml(str(reports))}",
        "junit.enabled = true",
        "har.enabled = true",
        "",
        # an X-Org-ID other than an existing organization is a 404 before any handler runs: the admin acts for its own
        "[parameters]",
        f'"header.X-Org-ID" = {_toml(org_id)}',
        "",
        "[generation]",
        'mode = "all"',
        f"max-examples = {MAX_EXAMPLES}",
        "deterministic = true",
        "allow-x00 = true",
        "",
        "[phases]",
        "examples.enabled = true",
        "coverage.enabled = true",
        "fuzzing.enabled = true",
        "stateful.enabled = false",
        "",
        "[checks]",
        "enabled = false",
        *(f"{check}.enabled = true" for check in CHECKS),
    ]
    for operation, values in sorted(parameters.items()):
        lines += ["", "[[operations]]", f"include-operation-id = {_toml(operation)}", f"parameters = {_toml(values)}"]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class FuzzRun:
    returncode: int
    output: str
    seconds: float

    def figure(self, pattern: str) -> str:
        found = re.search(pattern, self.output)
        return found.group(0) if found else "?"


async def _schemathesis(config_path: Path, document_url: str) -> FuzzRun:
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "schemathesis.cli",
        "--config-file",
        str(config_path),
        "run",
        document_url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={
            **os.environ,
            "NO_COLOR": "1",
            "COLUMNS": "160",
            "SCHEMATHESIS_HOOKS": "tests.e2e.fuzz_hooks",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        },
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), SCHEMATHESIS_TIMEOUT)
    except TimeoutError:
        process.kill()
        output, _ = await process.communicate()
        raise AssertionError(f"schemathesis ran past {SCHEMATHESIS_TIMEOUT:.0f} s:\n{output.decode()}") from None
    assert process.returncode is not None
    return FuzzRun(process.returncode, output.decode(errors="replace"), time.monotonic() - started)


def _error_lines(log_path: Path) -> list[str]:
    """Each distinct ERROR of a process's JSON log, with the last line of its traceback and how often it came."""
    counts: dict[str, int] = {}
    for line in log_path.read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if isinstance(record, dict) and record.get("level") in ("ERROR", "CRITICAL"):
                cause = (str(record.get("exc_info") or "").strip().splitlines() or [""])[-1]
                key = f"{record.get('logger')}: {record.get('message')} {cause[:200]}"
                counts[key] = counts.get(key, 0) + 1
    return [f"{count} x {key}" for key, count in sorted(counts.items(), key=lambda item: -item[1])]


@pytest.mark.timeout(600)
async def test_every_operation_survives_schemathesis_and_answers_as_documented(
    backends: Backends, tmp_path: Path
) -> None:
    async with _running_system(backends, tmp_path) as (base_url, database_url):
        token, org_id, parameters = await _seed(base_url, database_url)
        config_path = tmp_path / "schemathesis.toml"
        config_path.write_text(_config(base_url, token, org_id, parameters, tmp_path / "reports"))
        run = await _schemathesis(config_path, f"{base_url}/api/v1/openapi.json")
    print(run.output)
    print(f"schemathesis took {run.seconds:.0f} s (seed {SEED}, at most {MAX_EXAMPLES} examples per operation)")
    for role in ("server", "worker"):
        for line in _error_lines(tmp_path / f"{role}.log"):
            print(f"{role}: {line}")
    assert run.returncode == 0, f"schemathesis found failures (seed {SEED}):\n{run.output}"
