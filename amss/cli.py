"""Command-line entry points: `amss` (migrate, seed, create-admin, keys, dev), `amss-server`, `amss-worker`."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import NoReturn

import orjson

from amss.auth.keys import generate_key_pair
from amss.auth.passwords import hash_password_async, password_problem
from amss.bootstrap.cli import DatabaseUnreachable, open_cli
from amss.config import ConfigError, Settings, load_settings
from amss.domain.errors import Conflict
from amss.infra.postgres.database import ensure_database
from amss.infra.postgres.migrations import DEFAULT_DIRECTORY, MigrationError, Migrator, load_migrations
from amss.observability.logging import configure_logging

log = logging.getLogger("amss.cli")


def _fail(message: str, code: int = 1) -> NoReturn:
    print(f"amss: {message}", file=sys.stderr)
    raise SystemExit(code)


def _settings() -> Settings:
    try:
        return load_settings(os.environ)
    except ConfigError as exc:
        for line in exc.lines:
            print(f"config: {line}", file=sys.stderr)
        raise SystemExit(2) from None


def _run(coro: Awaitable[None]) -> None:
    import uvloop

    async def main() -> None:
        await coro

    uvloop.run(main())


# --- migrate -----------------------------------------------------------------------------------


async def _migrate(settings: Settings, args: argparse.Namespace) -> None:
    migrations = load_migrations(Path(args.dir))
    if args.create_database:
        await ensure_database(settings.db_url)
    async with open_cli(settings) as cli, Migrator(cli.conn, migrations) as migrator:
        if args.action == "up":
            done = await migrator.up(args.to)
            print(f"applied {len(done)} migration(s)" + "".join(f"\n  up   {m.path.name}" for m in done))
        elif args.action == "down":
            done = await migrator.down(to_version=args.to) if args.to is not None else await migrator.down()
            print(f"reverted {len(done)} migration(s)" + "".join(f"\n  down {m.path.name}" for m in done))
        elif args.action == "redo":
            redone = await migrator.redo()
            print(f"redone {redone.path.name}" if redone else "nothing to redo")
        else:
            for status in await migrator.status():
                applied = status.applied_at.isoformat() if status.applied_at else "pending"
                print(f"{applied:<32} {status.migration.path.name}")


# --- create-admin, seed ------------------------------------------------------------------------


def _read_admin_password() -> str:
    password = os.environ.get("AMSS_ADMIN_PASSWORD")
    if password is None:
        password = getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\r\n")
    problem = password_problem(password)
    if problem:
        _fail(f"password {problem}")
    return password


async def _create_admin(settings: Settings, args: argparse.Namespace) -> None:
    from amss.infra.postgres.provisioning import create_admin

    password = _read_admin_password()
    async with open_cli(settings) as cli:
        password_hash = await hash_password_async(password, settings.bcrypt_rounds)
        try:
            provisioned = await create_admin(cli.conn, args.org, args.email, password_hash)
        except Conflict as exc:
            _fail(exc.message)
    print(orjson.dumps({"org_id": str(provisioned.org_id), "user_id": str(provisioned.user_id)}).decode())


async def _seed(settings: Settings, _: argparse.Namespace) -> None:
    from amss.infra.postgres.seed import seed_demo

    async with open_cli(settings) as cli:
        print(orjson.dumps(await seed_demo(cli.conn, now=cli.clock(), bcrypt_rounds=settings.bcrypt_rounds)).decode())


# --- keys --------------------------------------------------------------------------------------


def _keys_generate(args: argparse.Namespace) -> None:
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    private_path, public_path = out / "jwt-private.pem", out / "jwt-public.pem"
    if not args.force and (private_path.exists() or public_path.exists()):
        _fail(f"{private_path} or {public_path} exists; pass --force to replace them")
    pair = generate_key_pair()
    private_path.write_text(pair.private_pem)
    private_path.chmod(0o600)
    public_path.write_text(pair.public_pem)
    print(orjson.dumps({"private_key": str(private_path), "public_key": str(public_path)}).decode())


# --- servers -----------------------------------------------------------------------------------


def _grpc_bind(address: str) -> str:
    """GRPC_ADDR as gRPC binds it: ":9090" means every interface."""
    host, _, port = address.rpartition(":")
    return f"{host or '[::]'}:{port}"


async def _serve_api(settings: Settings) -> None:
    from amss.bootstrap.server import init_server_app
    from amss.serve import serve

    await serve(
        init_server_app(settings, grpc_address=_grpc_bind(settings.grpc_addr)),
        settings.http_addr,
        name="amss-server",
        shutdown_timeout=settings.shutdown_grace.total_seconds(),
    )


async def _serve_worker(settings: Settings) -> None:
    from amss.bootstrap.worker import init_worker_app
    from amss.serve import serve

    await serve(
        init_worker_app(settings),
        settings.worker_http_addr,
        name="amss-worker",
        shutdown_timeout=settings.shutdown_grace.total_seconds(),
    )


def _run_service(factory: Callable[[Settings], Awaitable[None]]) -> None:
    settings = _settings()
    configure_logging(settings.log_level)
    try:
        _run(factory(settings))
    except OSError as exc:
        log.error("cannot start", extra={"error": str(exc)})
        raise SystemExit(1) from None


def server_main() -> None:
    _run_service(_serve_api)


def worker_main() -> None:
    _run_service(_serve_worker)


# --- parser ------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="amss", description="AMSS administration commands")
    commands = parser.add_subparsers(dest="command", required=True)

    migrate = commands.add_parser("migrate", help="apply, revert or list the SQL migrations")
    migrate.add_argument("action", nargs="?", default="up", choices=["up", "down", "status", "redo"])
    migrate.add_argument("--to", type=int, help="target version (up: at most; down: revert everything above)")
    migrate.add_argument("--dir", default=str(DEFAULT_DIRECTORY), help="migrations directory")
    migrate.add_argument("--create-database", action="store_true", help="create the database of DB_URL if missing")

    commands.add_parser("seed", help="load the demo organization, users, aircraft, parts and tasks")

    admin = commands.add_parser("create-admin", help="bootstrap the first system admin and its organization")
    admin.add_argument("--org", required=True, help="organization name (created if missing)")
    admin.add_argument("--email", required=True)

    keys = commands.add_parser("keys", help="JWT signing keys")
    key_actions = keys.add_subparsers(dest="keys_action", required=True)
    generate = key_actions.add_parser("generate", help="write a new RS256 key pair as PEM files")
    generate.add_argument("--out-dir", default="var/keys")
    generate.add_argument("--force", action="store_true")

    dev = commands.add_parser("dev", help="create the database, migrate, seed, then run server and worker")
    dev.add_argument("--no-seed", action="store_true")
    dev.add_argument("--keys-dir", default="var/keys")

    bench = commands.add_parser("bench", help="measure performance on this machine")
    bench_targets = bench.add_subparsers(dest="bench_target", required=True)
    from amss.bench.mesh import add_arguments as add_bench_mesh_arguments

    add_bench_mesh_arguments(bench_targets.add_parser("mesh", help="the command mesh against the same work done bare"))
    from amss.bench.tasks import add_arguments as add_bench_tasks_arguments

    add_bench_tasks_arguments(bench_targets.add_parser("tasks", help="task creation over HTTP against the bare SQL"))
    from amss.bench.imports import add_arguments as add_bench_import_arguments

    add_bench_import_arguments(
        bench_targets.add_parser("import", help="a 100,000-row parts import against the bare executemany floor")
    )
    from amss.bench.lists import add_arguments as add_bench_lists_arguments

    add_bench_lists_arguments(
        bench_targets.add_parser("lists", help="every list's filters and sorts over HTTP at airline scale")
    )
    from amss.bench.events import add_arguments as add_bench_events_arguments

    add_bench_events_arguments(
        bench_targets.add_parser("events", help="outbox publishing against a bare floor, webhook delivery end to end")
    )
    from amss.bench.grpc import add_arguments as add_bench_grpc_arguments

    add_bench_grpc_arguments(
        bench_targets.add_parser("grpc", help="task creation over REST, unary gRPC and one batch stream vs SQL")
    )

    commands.add_parser("server", help="run the API server (same as amss-server)")
    commands.add_parser("worker", help="run the worker (same as amss-worker)")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    if args.command == "keys":
        _keys_generate(args)
        return
    if args.command == "server":
        server_main()
        return
    if args.command == "worker":
        worker_main()
        return
    if args.command == "bench" and args.bench_target == "tasks":
        from amss.bench.tasks import run as run_bench_tasks

        run_bench_tasks(_settings(), args)
        return
    if args.command == "bench" and args.bench_target == "grpc":
        from amss.bench.grpc import run as run_bench_grpc

        run_bench_grpc(_settings(), args)
        return
    if args.command == "bench" and args.bench_target == "import":
        from amss.bench.imports import run as run_bench_import

        run_bench_import(_settings(), args)
        return
    if args.command == "bench" and args.bench_target == "lists":
        from amss.bench.lists import run as run_bench_lists

        run_bench_lists(_settings(), args)
        return
    if args.command == "bench" and args.bench_target == "events":
        from amss.bench.events import run as run_bench_events

        run_bench_events(_settings(), args)
        return
    if args.command == "bench":
        from amss.bench.mesh import run as run_bench_mesh

        run_bench_mesh(_settings(), args)
        return
    if args.command == "dev":
        from amss.devrun import run_dev

        run_dev(args)
        return
    settings = _settings()
    handlers: dict[str, Callable[[Settings, argparse.Namespace], Awaitable[None]]] = {
        "migrate": _migrate,
        "seed": _seed,
        "create-admin": _create_admin,
    }
    try:
        _run(handlers[args.command](settings, args))
    except (MigrationError, DatabaseUnreachable) as exc:
        _fail(str(exc))


if __name__ == "__main__":
    main()
