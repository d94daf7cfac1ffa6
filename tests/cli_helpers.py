"""Run the project's console entry points as real subprocesses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_env(database_url: str, redis_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AMSS_", "JWT_"))}
    # amss-server serves gRPC too: on a free port, so parallel runs never compete for GRPC_ADDR's :9090; a
    # worker's program generator calls that same (for a worker: unused) port, never another run's server
    grpc_address = f"127.0.0.1:{free_port()}"
    env.update(
        {
            "DB_URL": database_url,
            "APP_ENV": "test",
            "LOG_LEVEL": "info",
            "GRPC_ADDR": grpc_address,
            "SERVER_GRPC_ADDR": grpc_address,
        }
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra)
    return env


def run_cli(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "amss.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
