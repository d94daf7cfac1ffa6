"""Settings read from environment variables and validated once, at start-up.

`load_settings(os.environ)` returns a frozen `Settings` or raises `ConfigError` whose `lines`
name every bad variable and what it expects; the entry points print them and exit with 2.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import uuid
from collections.abc import Mapping
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)")
_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
_SECRET_VARIABLES = {"JWT_PRIVATE_KEY_PEM", "JWT_PUBLIC_KEY_PEM", "DB_URL", "REDIS_URL"}


class ConfigError(Exception):
    """Raised when one or more environment variables are invalid; one line per variable."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


def parse_duration(value: object) -> timedelta:
    """Parse a Go-style duration ("15m", "1h30m", "500ms", "7d") or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError("expected a duration such as 15m, 1h30m, 500ms or a number of seconds")
    text = value.strip()
    if text.startswith("-"):
        raise ValueError(f"expected a duration that is not negative, got {value!r}")
    try:
        return timedelta(seconds=float(text))
    except ValueError:
        pass
    position, seconds = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            break
        seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    if not text or position != len(text):
        raise ValueError(f"expected a duration such as 15m, 1h30m, 500ms or a number of seconds, got {value!r}")
    return timedelta(seconds=seconds)


def parse_address(value: object) -> str:
    """Accept "host:port" or ":port" (all interfaces)."""
    text = str(value).strip()
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError("expected host:port or :port (e.g. :8080)")
    if host.startswith("[") != host.endswith("]"):
        raise ValueError("expected host:port or :port (e.g. :8080)")
    return text


def split_address(address: str) -> tuple[str, int]:
    """Split a validated address into (host, port); an empty host means all interfaces."""
    host, _, port = address.rpartition(":")
    return host.strip("[]") or "0.0.0.0", int(port)  # noqa: S104 - ":port" means all interfaces


def _comma_list(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _network(value: object) -> object:
    if isinstance(value, str):
        try:
            return ipaddress.ip_network(value, strict=False)
        except ValueError as exc:
            raise ValueError(f"expected an IP address or CIDR, got {value!r}") from exc
    return value


def _on_off(value: object) -> object:
    if isinstance(value, str) and value.strip().lower() in {"on", "off"}:
        return value.strip().lower() == "on"
    return value


def _log_level(value: object) -> object:
    if isinstance(value, str):
        level = value.strip().lower()
        return "warning" if level == "warn" else level
    return value


def _default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Address = Annotated[str, BeforeValidator(parse_address)]
Network = Annotated[ipaddress.IPv4Network | ipaddress.IPv6Network, BeforeValidator(_network)]
OnOff = Annotated[bool, BeforeValidator(_on_off)]


class Settings(BaseModel):
    """Every setting of the server, the worker and the CLI. Field names are the variables, lower-cased."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    app_env: Literal["dev", "test", "staging", "production"] = "dev"
    http_addr: Address = ":8080"
    worker_http_addr: Address = ":8081"
    grpc_addr: Address = ":9090"
    # where the worker reaches amss-server's gRPC front (the program generator calls it)
    server_grpc_addr: Address = "127.0.0.1:9090"
    # commands of one BatchCreateTasks stream running at once
    grpc_batch_in_flight: int = Field(default=32, ge=1, le=1024)
    db_url: str = "postgresql://postgres@127.0.0.1:5432/amss"
    db_pool_min: int = Field(default=2, ge=0, le=100)
    db_pool_max: int = Field(default=20, ge=1, le=500)
    redis_addr: Address = "127.0.0.1:6379"
    redis_url: str | None = None
    jwt_private_key_pem: str | None = None
    jwt_public_key_pem: str | None = None
    jwt_issuer: str = "amss"
    access_token_ttl: Duration = timedelta(minutes=15)
    refresh_token_ttl: Duration = timedelta(days=7)
    # presenting a just-rotated refresh token again within this long gets a fresh pair of its family
    # (a lost response retried, a race of one client's tabs) instead of revoking the family; 0 turns it off
    refresh_reuse_grace: Duration = timedelta(seconds=10)
    prometheus_enabled: bool = True
    log_level: Annotated[Literal["debug", "info", "warning", "error"], BeforeValidator(_log_level)] = "info"
    cors_allowed_origins: Annotated[list[str], BeforeValidator(_comma_list)] = Field(default_factory=list)
    trusted_proxies: Annotated[list[Network], BeforeValidator(_comma_list)] = Field(default_factory=list)
    worker_id: str = Field(default_factory=_default_worker_id, min_length=1, max_length=200)
    webhook_allow_http: bool | None = None
    login_rate_limit_per_ip: int = Field(default=10, ge=1)
    login_rate_limit_per_email: int = Field(default=5, ge=1)
    max_body_bytes: int = Field(default=1 << 20, ge=1024)
    # a CSV upload's file (POST /imports/csv): larger is 413, refused without reading the rest
    max_upload_bytes: int = Field(default=32 << 20, ge=1024, le=1 << 30)
    shutdown_grace: Duration = timedelta(seconds=10)
    # a client that stops sending in the middle of its body gets 408 after this long instead of holding a slot
    body_read_timeout: Duration = timedelta(seconds=30)
    bcrypt_rounds: int = Field(default=12, ge=4, le=16)

    amss_mesh: OnOff = True
    amss_partitions: int = Field(default=16, ge=1, le=1024)
    amss_command_wait: Duration = timedelta(seconds=5)
    amss_command_redrive_after: Duration = timedelta(seconds=30)
    amss_command_timeout: Duration = timedelta(seconds=5)
    amss_worker_concurrency: int = Field(default=64, ge=1, le=10000)
    amss_lease_ttl: Duration = timedelta(seconds=10)
    amss_heartbeat_interval: Duration = timedelta(seconds=2)
    amss_max_deliveries: int = Field(default=5, ge=1, le=1000)
    amss_instance_id: str = Field(default_factory=lambda: uuid.uuid4().hex, pattern=r"^[A-Za-z0-9_.-]{1,100}$")
    amss_grounding_lead_time: Duration = timedelta(hours=24)
    # diagnostic command types (diag.*) for mesh tests and `amss bench mesh`; refused in production
    amss_diagnostic_commands: OnOff = False
    # import jobs (amss/jobs/imports.py): a job's lease, the attempts before it fails and is dead-lettered,
    # how long an unfinished import nobody holds waits before it is enqueued again, imports run at once
    # per worker, rows per staged or applied batch, transactions of rows applied at once within a batch
    amss_import_lease_ttl: Duration = timedelta(seconds=30)
    amss_import_max_attempts: int = Field(default=5, ge=1, le=100)
    amss_import_redrive_after: Duration = timedelta(seconds=60)
    amss_import_concurrency: int = Field(default=2, ge=1, le=64)
    amss_import_batch_rows: int = Field(default=1000, ge=1, le=10000)
    amss_import_row_concurrency: int = Field(default=4, ge=1, le=64)
    # every Redis key and stream name starts with this, so test runs and deployments can share a Redis
    amss_redis_prefix: str = Field(default="amss", pattern=r"^[A-Za-z0-9_-]{1,64}$")

    # the event pipeline (docs/events.md): outbox publisher, fan-out consumer, webhook dispatcher (amss-worker)
    amss_events: OnOff = True
    outbox_batch_size: int = Field(default=500, ge=1, le=10_000)
    outbox_poll_interval: Duration = timedelta(milliseconds=100)
    outbox_concurrency: int = Field(default=2, ge=1, le=16)
    outbox_lease: Duration = timedelta(seconds=30)
    outbox_max_attempts: int = Field(default=10, ge=1, le=1000)
    outbox_backoff_base: Duration = timedelta(seconds=1)
    outbox_backoff_max: Duration = timedelta(hours=1)
    # the publisher's leases and marks may commit without waiting for the WAL flush: one lost in a
    # Postgres crash only makes an event go out again, which consumers already deduplicate (docs/events.md)
    outbox_synchronous_commit: OnOff = False
    events_stream_maxlen: int = Field(default=1_000_000, ge=1000)
    events_claim_idle: Duration = timedelta(seconds=60)
    events_max_deliveries: int = Field(default=10, ge=1, le=1000)
    # the event pipeline's Postgres sessions (its own small pool)
    events_db_pool_max: int = Field(default=6, ge=2, le=100)
    events_statement_timeout: Duration = timedelta(seconds=10)
    events_lock_timeout: Duration = timedelta(seconds=2)
    events_idle_in_transaction_timeout: Duration = timedelta(seconds=15)
    webhook_timeout: Duration = timedelta(seconds=10)
    webhook_lease: Duration = timedelta(seconds=60)
    webhook_backoff_base: Duration = timedelta(seconds=5)
    webhook_backoff_max: Duration = timedelta(hours=1)
    webhook_concurrency: int = Field(default=64, ge=1, le=10_000)
    webhook_per_url_concurrency: int = Field(default=8, ge=1, le=1000)
    webhook_poll_interval: Duration = timedelta(milliseconds=100)

    @property
    def effective_redis_url(self) -> str:
        """REDIS_URL when set, else a URL built from REDIS_ADDR."""
        return self.redis_url or f"redis://{self.redis_addr}/0"

    @property
    def allows_http_webhooks(self) -> bool:
        if self.webhook_allow_http is None:
            return self.app_env != "production"
        return self.webhook_allow_http

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @model_validator(mode="after")
    def _check_combinations(self) -> Settings:
        problems: list[str] = []
        if self.access_token_ttl <= timedelta(0):
            problems.append("ACCESS_TOKEN_TTL: expected a positive duration")
        if self.refresh_token_ttl <= self.access_token_ttl:
            problems.append("REFRESH_TOKEN_TTL: expected a duration longer than ACCESS_TOKEN_TTL")
        if self.refresh_reuse_grace > timedelta(minutes=1):
            # a longer grace would let a stolen, already rotated token through: reuse detection is the point
            problems.append("REFRESH_REUSE_GRACE: expected a duration from 0s to 1m")
        if not timedelta(0) <= self.amss_command_wait <= timedelta(seconds=30):
            problems.append("AMSS_COMMAND_WAIT: expected a duration from 0s to 30s")
        if self.amss_command_timeout >= self.amss_lease_ttl:
            problems.append("AMSS_COMMAND_TIMEOUT: expected a duration shorter than AMSS_LEASE_TTL")
        if self.amss_command_redrive_after < self.amss_command_timeout:
            # an accepted command is redriven only once any execution of it has run out of time
            problems.append("AMSS_COMMAND_REDRIVE_AFTER: expected at least AMSS_COMMAND_TIMEOUT")
        if self.amss_heartbeat_interval * 2 > self.amss_lease_ttl:
            problems.append("AMSS_HEARTBEAT_INTERVAL: expected at most half of AMSS_LEASE_TTL")
        if self.amss_import_lease_ttl < timedelta(seconds=1):
            problems.append("AMSS_IMPORT_LEASE_TTL: expected at least 1s")
        if self.webhook_lease <= self.webhook_timeout:
            # a delivery in flight must stay leased until its answer or timeout is recorded
            problems.append("WEBHOOK_LEASE: expected a duration longer than WEBHOOK_TIMEOUT")
        if self.webhook_timeout <= timedelta(0):
            problems.append("WEBHOOK_TIMEOUT: expected a positive duration")
        if self.outbox_lease <= self.events_statement_timeout:
            problems.append("OUTBOX_LEASE: expected a duration longer than EVENTS_STATEMENT_TIMEOUT")
        if self.events_claim_idle <= self.events_statement_timeout * 2:
            # a pending entry is taken over only once its handling has certainly stopped
            problems.append("EVENTS_CLAIM_IDLE: expected more than twice EVENTS_STATEMENT_TIMEOUT")
        for name in ("outbox_backoff_base", "webhook_backoff_base", "outbox_poll_interval", "webhook_poll_interval"):
            if getattr(self, name) <= timedelta(0):
                problems.append(f"{name.upper()}: expected a positive duration")
        if self.db_pool_min > self.db_pool_max:
            problems.append("DB_POOL_MIN: expected at most DB_POOL_MAX")
        if (self.jwt_private_key_pem is None) != (self.jwt_public_key_pem is None):
            problems.append("JWT_PUBLIC_KEY_PEM: expected both JWT_PRIVATE_KEY_PEM and JWT_PUBLIC_KEY_PEM, or neither")
        if self.is_production:
            if self.jwt_private_key_pem is None:
                problems.append("JWT_PRIVATE_KEY_PEM: required when APP_ENV=production")
            if self.webhook_allow_http:
                problems.append("WEBHOOK_ALLOW_HTTP: http:// webhooks are refused when APP_ENV=production")
            if self.amss_diagnostic_commands:
                problems.append("AMSS_DIAGNOSTIC_COMMANDS: diagnostic commands are refused when APP_ENV=production")
            if self.bcrypt_rounds < 10:
                problems.append("BCRYPT_ROUNDS: expected at least 10 when APP_ENV=production")
            if "*" in self.cors_allowed_origins:
                problems.append("CORS_ALLOWED_ORIGINS: '*' is refused when APP_ENV=production")
        if problems:
            raise ValueError("\n".join(problems))
        return self


def _field_names() -> set[str]:
    return set(Settings.model_fields)


def load_settings(environ: Mapping[str, str], **overrides: Any) -> Settings:
    """Build Settings from an environment mapping; empty variables count as unset."""
    names = _field_names()
    values: dict[str, Any] = {
        key.lower(): value for key, value in environ.items() if key.lower() in names and value.strip() != ""
    }
    values.update(overrides)
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None


def _describe(exc: ValidationError) -> list[str]:
    lines: list[str] = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        if not error["loc"]:
            lines.extend(message.splitlines())
            continue
        variable = str(error["loc"][0]).upper()
        shown = "" if variable in _SECRET_VARIABLES else f" (got {error.get('input')!r})"
        lines.append(f"{variable}: {message}{shown}")
    return lines
