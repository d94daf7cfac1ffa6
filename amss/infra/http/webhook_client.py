"""The webhook sender: one aiohttp session, no redirects, a total timeout, the first 1 KiB of each answer kept.

In production (`public_only`) a destination must be public: an IP literal is checked before the
request (aiohttp calls no resolver for one) and a name is resolved by `PublicAddressResolver`,
which connects only to the public addresses of that same answer (no DNS rebinding). A refused
destination is reported as `refused`, with nothing sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Final

import aiohttp
from yarl import URL

from amss.app.events.ports import Sent
from amss.domain.addresses import parse_address
from amss.domain.retries import Answer
from amss.infra.http.public_resolver import NonPublicDestinationError, PublicAddressResolver, refuse_non_public

BODY_KEPT: Final = 1024
USER_AGENT: Final = "amss-webhooks/1"


class AiohttpWebhookSender:
    def __init__(self, *, timeout: float = 10.0, public_only: bool = False, connections: int = 100) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._timeout_seconds = timeout
        self._public_only = public_only
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            resolver = PublicAddressResolver() if self._public_only else None
            connector = aiohttp.TCPConnector(limit=self._connections, resolver=resolver, ttl_dns_cache=60)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout, auto_decompress=True)
        return self._session

    async def send(self, url: str, headers: Mapping[str, str], body: bytes) -> Sent:
        try:
            target = URL(url)
            host = target.host or ""
        except ValueError as exc:
            return Sent(Answer(None, error=f"bad URL: {exc}", refused=True), "")
        if self._public_only and parse_address(host) is not None:
            try:
                await refuse_non_public(host, target.port or 443)
            except NonPublicDestinationError as exc:
                return Sent(Answer(None, error=f"destination is not public: {exc}", refused=True), "")
        try:
            async with self._client().post(
                url, data=body, headers={**headers, "User-Agent": USER_AGENT}, allow_redirects=False
            ) as response:
                kept = await _first_bytes(response, BODY_KEPT)
                return Sent(
                    Answer(response.status, retry_after=response.headers.get("Retry-After")),
                    kept.decode("utf-8", "replace"),
                )
        except NonPublicDestinationError as exc:
            return Sent(Answer(None, error=f"destination is not public: {exc}", refused=True), "")
        except TimeoutError:
            return Sent(Answer(None, error=f"timeout after {self._timeout_seconds:g}s"), "")
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, NonPublicDestinationError) or isinstance(
                exc.__cause__, NonPublicDestinationError
            ):
                return Sent(Answer(None, error=f"destination is not public: {exc}", refused=True), "")
            return Sent(Answer(None, error=f"connection failed: {exc}"), "")
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return Sent(Answer(None, error=f"{type(exc).__name__}: {exc}"), "")

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


async def _first_bytes(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """Up to `limit` bytes of the body; the rest is not read (the connection is then not reused)."""
    chunks: list[bytes] = []
    size = 0
    try:
        while size < limit:
            chunk = await response.content.read(limit - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except (aiohttp.ClientError, asyncio.IncompleteReadError):
        pass
    return b"".join(chunks)
