"""Settings: defaults, parsing of every kind of value, and refusal of bad ones."""

from __future__ import annotations

import ipaddress
from datetime import timedelta

import pytest

from amss.config import ConfigError, load_settings, parse_duration, split_address


def test_defaults_serve_local_development() -> None:
    settings = load_settings({})
    assert settings.app_env == "dev"
    assert settings.db_url == "postgresql://postgres@127.0.0.1:5432/amss"
    assert settings.effective_redis_url == "redis://127.0.0.1:6379/0"
    assert settings.access_token_ttl == timedelta(minutes=15)
    assert settings.refresh_token_ttl == timedelta(days=7)
    assert settings.amss_partitions == 16
    assert settings.amss_command_wait == timedelta(seconds=5)
    assert settings.amss_mesh is True
    assert settings.cors_allowed_origins == []
    assert settings.allows_http_webhooks is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15m", timedelta(minutes=15)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("500ms", timedelta(milliseconds=500)),
        ("7d", timedelta(days=7)),
        ("168h", timedelta(days=7)),
        ("30", timedelta(seconds=30)),
        ("2.5s", timedelta(seconds=2.5)),
    ],
)
def test_durations_accept_go_syntax_and_seconds(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "m15", "1x", "1h junk", "-5m", "-5"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(text)


def test_redis_url_wins_over_redis_addr() -> None:
    settings = load_settings({"REDIS_ADDR": "10.0.0.1:6380", "REDIS_URL": "redis://cache:6379/3"})
    assert settings.effective_redis_url == "redis://cache:6379/3"
    assert load_settings({"REDIS_ADDR": "10.0.0.1:6380"}).effective_redis_url == "redis://10.0.0.1:6380/0"


def test_lists_are_comma_separated() -> None:
    settings = load_settings(
        {"CORS_ALLOWED_ORIGINS": "https://a.example, https://b.example", "TRUSTED_PROXIES": "10.0.0.0/8,127.0.0.1"}
    )
    assert settings.cors_allowed_origins == ["https://a.example", "https://b.example"]
    assert settings.trusted_proxies == [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("127.0.0.1/32")]


def test_empty_variables_count_as_unset() -> None:
    assert load_settings({"HTTP_ADDR": "", "LOG_LEVEL": " "}).http_addr == ":8080"


def test_mesh_accepts_on_and_off() -> None:
    assert load_settings({"AMSS_MESH": "off"}).amss_mesh is False
    assert load_settings({"AMSS_MESH": "on"}).amss_mesh is True


def test_every_bad_variable_gets_its_own_line_naming_it() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(
            {"HTTP_ADDR": "nonsense", "AMSS_PARTITIONS": "0", "LOG_LEVEL": "loud", "ACCESS_TOKEN_TTL": "soon"}
        )
    lines = caught.value.lines
    assert len(lines) == 4
    for variable in ("HTTP_ADDR", "AMSS_PARTITIONS", "LOG_LEVEL", "ACCESS_TOKEN_TTL"):
        assert sum(line.startswith(f"{variable}: ") for line in lines) == 1


def test_secret_values_are_not_echoed_in_errors() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"JWT_PRIVATE_KEY_PEM": "-----BEGIN PRIVATE KEY----- secret"})
    assert all("secret" not in line for line in caught.value.lines)


def test_production_refuses_missing_keys_http_webhooks_and_wildcard_cors() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"APP_ENV": "production", "WEBHOOK_ALLOW_HTTP": "true", "CORS_ALLOWED_ORIGINS": "*"})
    text = "\n".join(caught.value.lines)
    assert "JWT_PRIVATE_KEY_PEM: required when APP_ENV=production" in text
    assert "WEBHOOK_ALLOW_HTTP" in text
    assert "CORS_ALLOWED_ORIGINS" in text


def test_production_defaults_to_https_only_webhooks() -> None:
    settings = load_settings({"APP_ENV": "production", "JWT_PRIVATE_KEY_PEM": "a", "JWT_PUBLIC_KEY_PEM": "b"})
    assert settings.allows_http_webhooks is False


def test_jwt_keys_come_in_pairs() -> None:
    with pytest.raises(ConfigError, match="JWT_PUBLIC_KEY_PEM"):
        load_settings({"JWT_PRIVATE_KEY_PEM": "only one"})


def test_a_command_is_redriven_only_after_its_timeout() -> None:
    with pytest.raises(ConfigError, match="AMSS_COMMAND_REDRIVE_AFTER"):
        load_settings({"AMSS_COMMAND_TIMEOUT": "5s", "AMSS_COMMAND_REDRIVE_AFTER": "4s"})
    assert load_settings({"AMSS_COMMAND_TIMEOUT": "5s", "AMSS_COMMAND_REDRIVE_AFTER": "5s"}).amss_command_timeout


def test_command_timeout_must_be_shorter_than_the_lease() -> None:
    with pytest.raises(ConfigError, match="AMSS_COMMAND_TIMEOUT"):
        load_settings({"AMSS_COMMAND_TIMEOUT": "10s", "AMSS_LEASE_TTL": "10s"})


def test_command_wait_is_at_most_thirty_seconds() -> None:
    with pytest.raises(ConfigError, match="AMSS_COMMAND_WAIT"):
        load_settings({"AMSS_COMMAND_WAIT": "31s"})


@pytest.mark.parametrize(
    ("address", "expected"),
    [(":8080", ("0.0.0.0", 8080)), ("127.0.0.1:9090", ("127.0.0.1", 9090)), ("[::1]:80", ("::1", 80))],
)
def test_addresses_split_into_host_and_port(address: str, expected: tuple[str, int]) -> None:
    assert split_address(load_settings({"HTTP_ADDR": address}).http_addr) == expected


@pytest.mark.parametrize("address", ["8080", "host:", "host:99999", "[::1:80"])
def test_bad_addresses_are_refused(address: str) -> None:
    with pytest.raises(ConfigError, match="HTTP_ADDR: expected host:port"):
        load_settings({"HTTP_ADDR": address})


def test_refresh_reuse_grace_defaults_to_10s_and_takes_durations() -> None:
    assert load_settings({}).refresh_reuse_grace == timedelta(seconds=10)
    assert load_settings({"REFRESH_REUSE_GRACE": "0"}).refresh_reuse_grace == timedelta(0)
    assert load_settings({"REFRESH_REUSE_GRACE": "500ms"}).refresh_reuse_grace == timedelta(milliseconds=500)
    assert load_settings({"REFRESH_REUSE_GRACE": "1m"}).refresh_reuse_grace == timedelta(minutes=1)


@pytest.mark.parametrize("value", ["-1s", "soon", "2m"])
def test_a_bad_refresh_reuse_grace_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings({"REFRESH_REUSE_GRACE": value})
    assert [line.split(":")[0] for line in refused.value.lines] == ["REFRESH_REUSE_GRACE"]


def test_event_pipeline_defaults_and_their_combinations() -> None:
    settings = load_settings({})
    assert settings.webhook_timeout == timedelta(seconds=10) and settings.webhook_lease > settings.webhook_timeout
    assert (settings.webhook_backoff_base, settings.webhook_backoff_max) == (timedelta(seconds=5), timedelta(hours=1))
    assert settings.amss_events and not settings.outbox_synchronous_commit
    with pytest.raises(ConfigError) as refused:
        load_settings({"WEBHOOK_TIMEOUT": "60s", "WEBHOOK_LEASE": "30s", "OUTBOX_BACKOFF_BASE": "0s"})
    assert any(line.startswith("WEBHOOK_LEASE:") for line in refused.value.lines)
    assert any(line.startswith("OUTBOX_BACKOFF_BASE:") for line in refused.value.lines)
    with pytest.raises(ConfigError) as short_idle:
        load_settings({"EVENTS_CLAIM_IDLE": "15s"})
    assert any(line.startswith("EVENTS_CLAIM_IDLE:") for line in short_idle.value.lines)
