"""`amss dev`: one command that prepares a local machine and runs server and worker together.

Creates the database if missing, applies migrations, seeds the demo data, makes a local JWT key
pair if none is configured, then supervises `amss-server` and `amss-worker` as child processes
until Ctrl-C or SIGTERM, which it passes on to both.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from pathlib import Path

import uvloop

from amss.auth.keys import generate_key_pair
from amss.bootstrap.cli import open_cli
from amss.config import ConfigError, Settings, load_settings
from amss.infra.postgres.database import ensure_database
from amss.infra.postgres.migrations import Migrator, load_migrations
from amss.observability.logging import configure_logging

log = logging.getLogger("amss.dev")


def _local_keys(keys_dir: Path) -> dict[str, str]:
    private_path, public_path = keys_dir / "jwt-private.pem", keys_dir / "jwt-public.pem"
    if not private_path.exists() or not public_path.exists():
        keys_dir.mkdir(parents=True, exist_ok=True)
        pair = generate_key_pair()
        private_path.write_text(pair.private_pem)
        private_path.chmod(0o600)
        public_path.write_text(pair.public_pem)
        log.info("generated a local JWT key pair", extra={"dir": str(keys_dir)})
    return {"JWT_PRIVATE_KEY_PEM": private_path.read_text(), "JWT_PUBLIC_KEY_PEM": public_path.read_text()}


async def _prepare(settings: Settings, seed: bool) -> None:
    from amss.infra.postgres.seed import seed_demo

    if await ensure_database(settings.db_url):
        log.info("created database")
    async with open_cli(settings) as cli:
        async with Migrator(cli.conn, load_migrations()) as migrator:
            done = await migrator.up()
            log.info("migrations applied", extra={"count": len(done)})
        if seed:
            log.info("seed", extra=await seed_demo(cli.conn, now=cli.clock(), bcrypt_rounds=settings.bcrypt_rounds))


async def _supervise(env: dict[str, str]) -> int:
    children = [
        await asyncio.create_subprocess_exec(sys.executable, "-m", "amss.cli", role, env=env)
        for role in ("server", "worker")
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    waits = [asyncio.ensure_future(child.wait()) for child in children]
    stopper = asyncio.ensure_future(stop.wait())
    await asyncio.wait([*waits, stopper], return_when=asyncio.FIRST_COMPLETED)
    for child in children:
        if child.returncode is None:
            child.send_signal(signal.SIGTERM)
    codes = await asyncio.gather(*waits)
    stopper.cancel()
    return 0 if stop.is_set() else max(code or 0 for code in codes) or 1


def run_dev(args: argparse.Namespace) -> None:
    env = dict(os.environ)
    env.setdefault("APP_ENV", "dev")
    if not env.get("JWT_PRIVATE_KEY_PEM"):
        env.update(_local_keys(Path(args.keys_dir)))
    try:
        settings = load_settings(env)
    except ConfigError as exc:
        for line in exc.lines:
            print(f"config: {line}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.log_level)
    uvloop.run(_prepare(settings, seed=not args.no_seed))
    raise SystemExit(uvloop.run(_supervise(env)))
