"""The client address: socket peer unless a trusted proxy forwarded the request."""

from __future__ import annotations

import ipaddress

import pytest

from amss.api.rest.context import client_ip

TRUSTED = [ipaddress.ip_network("10.0.0.0/8")]


@pytest.mark.parametrize(
    ("peer", "forwarded", "expected"),
    [
        ("198.51.100.7", None, "198.51.100.7"),
        ("198.51.100.7", "203.0.113.9", "198.51.100.7"),  # untrusted peer: header ignored
        ("10.0.0.5", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.5", "203.0.113.9, 10.0.0.8", "203.0.113.9"),  # skip trusted hops from the right
        ("10.0.0.5", "1.2.3.4, 203.0.113.9", "203.0.113.9"),  # a spoofed left-most hop is not believed
        ("10.0.0.5", "not-an-ip", "10.0.0.5"),
        ("10.0.0.5", "10.0.0.9", "10.0.0.5"),
        (None, None, "unknown"),
    ],
)
def test_client_ip(peer: str | None, forwarded: str | None, expected: str) -> None:
    assert client_ip(peer, forwarded, TRUSTED) == expected
