"""The SSRF guard: which addresses count as public, and the resolver that drops the others."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from amss.domain.addresses import is_public_address, parse_address
from amss.infra.http.public_resolver import NonPublicDestinationError, PublicAddressResolver, refuse_non_public

NON_PUBLIC = [
    "127.0.0.1",
    "127.255.0.9",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "224.0.0.1",
    "255.255.255.255",
    "192.0.2.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "ff02::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::127.0.0.1",
    "2002:7f00:1::",
    "2002:a9fe:a9fe::",
    "64:ff9b::a00:1",
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8", "2002:808:808::"]


@pytest.mark.parametrize("text", NON_PUBLIC)
def test_non_public_addresses(text: str) -> None:
    assert not is_public_address(ipaddress.ip_address(text))


@pytest.mark.parametrize("text", PUBLIC)
def test_public_addresses(text: str) -> None:
    assert is_public_address(ipaddress.ip_address(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("[::1]", "::1"), ("fe80::1%eth0", "fe80::1"), ("10.0.0.1", "10.0.0.1"), ("example.com", None), ("", None)],
)
def test_parse_address(text: str, expected: str | None) -> None:
    parsed = parse_address(text)
    assert (str(parsed) if parsed is not None else None) == expected


class _FixedResolver(AbstractResolver):
    def __init__(self, answers: list[str]) -> None:
        self.answers = answers

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            ResolveResult(hostname=host, host=a, port=port, family=socket.AF_INET, proto=0, flags=0)
            for a in self.answers
        ]

    async def close(self) -> None:
        return None


async def test_the_resolver_keeps_only_public_answers() -> None:
    resolver = PublicAddressResolver(_FixedResolver(["10.0.0.1", "8.8.8.8", "169.254.169.254"]))
    answers = await resolver.resolve("mixed.example", 443)
    assert [answer["host"] for answer in answers] == ["8.8.8.8"]


async def test_the_resolver_refuses_a_name_with_only_private_answers() -> None:
    resolver = PublicAddressResolver(_FixedResolver(["127.0.0.1", "::1"]))
    with pytest.raises(NonPublicDestinationError, match="no public address"):
        await resolver.resolve("rebind.example", 443)


@pytest.mark.parametrize("host", ["127.0.0.1", "10.0.0.1", "169.254.169.254", "[::1]", "::ffff:127.0.0.1"])
async def test_creation_refuses_non_public_literals(host: str) -> None:
    with pytest.raises(NonPublicDestinationError, match="not a public address"):
        await refuse_non_public(host, 443, _FixedResolver([]))


async def test_creation_refuses_a_name_with_any_private_answer() -> None:
    with pytest.raises(NonPublicDestinationError, match="non-public"):
        await refuse_non_public("mixed.example", 443, _FixedResolver(["8.8.8.8", "10.0.0.1"]))


async def test_creation_accepts_a_name_with_only_public_answers() -> None:
    await refuse_non_public("public.example", 443, _FixedResolver(["8.8.8.8", "1.1.1.1"]))


async def test_creation_refuses_a_name_that_does_not_resolve() -> None:
    with pytest.raises(NonPublicDestinationError, match="does not resolve"):
        await refuse_non_public("no-such-host.invalid", 443)


async def test_localhost_is_refused_through_the_real_resolver() -> None:
    with pytest.raises(NonPublicDestinationError):
        await refuse_non_public("localhost", 443)
