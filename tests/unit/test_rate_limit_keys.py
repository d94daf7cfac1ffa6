"""Rate-limit keys and headers: what they are built from, and that no e-mail address reaches Redis."""

from __future__ import annotations

import hashlib
import uuid

from amss.api.rest.rate_limits import ip_key, login_email_key, org_key, rate_limit_headers
from amss.infra.redis.keys import KeySpace
from amss.infra.redis.rate_limit import RateDecision

ORG_ID = uuid.UUID("11111111-2222-3333-4444-555555555555")


def test_org_key_is_per_organization_and_category() -> None:
    assert KeySpace("p").rate_limit(*org_key(ORG_ID, "read")) == f"p:rl:org:{ORG_ID}:read"
    assert org_key(ORG_ID, "read") != org_key(ORG_ID, "write")
    assert org_key(ORG_ID, "read") != org_key(uuid.uuid4(), "read")


def test_ip_key_is_per_category_and_address() -> None:
    assert KeySpace("p").rate_limit(*ip_key("auth", "203.0.113.7")) == "p:rl:ip:auth:203.0.113.7"
    assert ip_key("auth", "2001:db8::1") != ip_key("auth", "2001:db8::2")


def test_login_email_key_is_a_sha256_of_the_normalised_address() -> None:
    expected = hashlib.sha256(b"pilot@example.test").hexdigest()
    assert login_email_key("pilot@example.test") == ("login-email", expected)


def test_login_email_key_ignores_case_and_surrounding_space() -> None:
    assert login_email_key("  Pilot@Example.TEST ") == login_email_key("pilot@example.test")


def test_login_email_key_never_shows_the_address() -> None:
    key = KeySpace("amss").rate_limit(*login_email_key("Pilot.Name@example.test"))
    assert "pilot" not in key.lower()
    assert "example" not in key
    assert "@" not in key


def test_different_addresses_have_different_keys() -> None:
    assert login_email_key("a@example.test") != login_email_key("b@example.test")


def test_headers_carry_limit_remaining_and_reset_as_strings() -> None:
    headers = rate_limit_headers(RateDecision(True, 100, 99, 60, 0))
    assert headers == {"RateLimit-Limit": "100", "RateLimit-Remaining": "99", "RateLimit-Reset": "60"}


def test_headers_of_a_rejection_show_nothing_remaining() -> None:
    headers = rate_limit_headers(RateDecision(False, 3, 0, 17, 17))
    assert headers == {"RateLimit-Limit": "3", "RateLimit-Remaining": "0", "RateLimit-Reset": "17"}
