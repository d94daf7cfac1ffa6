"""A DNS resolver for aiohttp that only ever hands out public addresses (the SSRF guard at delivery).

The name is resolved once and the connection goes to an address from that same answer, so a name that
answers public at check time and private at connect time (DNS rebinding) still cannot reach a private
address. aiohttp does not call a resolver for an IP literal, so `refuse_non_public` is also called on
the URL's host before each request, and at webhook creation.
"""

from __future__ import annotations

import socket
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from amss.domain.addresses import is_public_address, parse_address


class NonPublicDestinationError(ValueError):
    """The host is, or resolves only to, addresses a webhook may not be delivered to."""


class PublicAddressResolver(AbstractResolver):
    """Resolves through `inner` and keeps only public addresses; none left is a resolution error."""

    def __init__(self, inner: AbstractResolver | None = None) -> None:
        self._inner = inner if inner is not None else ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        answers = await self._inner.resolve(host, port, family)
        public = [answer for answer in answers if _is_public_text(answer["host"])]
        if not public:
            raise NonPublicDestinationError(f"{host} resolves to no public address")
        return public

    async def close(self) -> None:
        await self._inner.close()


async def refuse_non_public(host: str, port: int, resolver: AbstractResolver | None = None) -> None:
    """Raise NonPublicDestinationError if `host` is a non-public address or resolves to any non-public one.

    At creation any non-public answer refuses the URL (stricter than delivery, which drops them)."""
    literal = parse_address(host)
    if literal is not None:
        if not is_public_address(literal):
            raise NonPublicDestinationError(f"{host} is not a public address")
        return
    inner = resolver if resolver is not None else ThreadedResolver()
    try:
        answers = await inner.resolve(host, port, socket.AF_UNSPEC)
    except OSError as exc:
        raise NonPublicDestinationError(f"{host} does not resolve") from exc
    finally:
        if resolver is None:
            await inner.close()
    hosts: list[Any] = [answer["host"] for answer in answers]
    if not hosts or not all(_is_public_text(text) for text in hosts):
        raise NonPublicDestinationError(f"{host} resolves to a non-public address")


def _is_public_text(text: str) -> bool:
    address = parse_address(text)
    return address is not None and is_public_address(address)
