"""Verified access tokens are kept per process: the signature is checked once, the expiry on every use."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from unittest import mock

import jwt
import pytest

from amss.auth.keys import generate_key_pair
from amss.auth.tokens import TokenService
from amss.domain.enums import Role
from amss.domain.errors import Unauthorized

KEYS = generate_key_pair()
TTL = timedelta(minutes=15)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def issue(service: TokenService) -> str:
    return service.issue_access(uuid.uuid4(), uuid.uuid4(), Role.SCHEDULER, datetime.now(UTC)).token


def test_a_valid_token_is_verified_once_and_answers_the_same_claims_afterwards() -> None:
    service = TokenService(KEYS, "amss", TTL)
    token = issue(service)
    with mock.patch("amss.auth.tokens.jwt.decode", wraps=jwt.decode) as decode:
        first = service.verify_access(token)
        again = service.verify_access(token)
    assert first == again
    assert decode.call_count == 1


def test_a_kept_token_is_refused_once_it_expires() -> None:
    clock = Clock()
    service = TokenService(KEYS, "amss", TTL, clock=clock)
    token = issue(service)
    service.verify_access(token)
    clock.now += TTL.total_seconds() - 1
    service.verify_access(token)
    clock.now += 10  # past the expiry and its 5 s leeway
    with pytest.raises(Unauthorized, match="expired"):
        service.verify_access(token)


def test_a_refused_token_is_never_kept_and_a_changed_byte_is_a_new_token() -> None:
    service = TokenService(KEYS, "amss", TTL)
    token = issue(service)
    header, payload, signature = token.split(".")
    tampered = ".".join((header, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")))
    for _ in range(2):
        with pytest.raises(Unauthorized):
            service.verify_access(tampered)
    service.verify_access(token)
    with pytest.raises(Unauthorized):
        service.verify_access(tampered)


def test_another_services_key_is_refused_even_for_a_token_this_service_kept() -> None:
    ours, theirs = TokenService(KEYS, "amss", TTL), TokenService(generate_key_pair(), "amss", TTL)
    token = issue(ours)
    ours.verify_access(token)
    with pytest.raises(Unauthorized):
        theirs.verify_access(token)
