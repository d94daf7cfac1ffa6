"""The benchmarks' lean HTTP client against a local aiohttp server: status and body, keep-alive reuse."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from amss.bench.http_client import BenchHttpClient


async def test_posts_json_and_reads_status_and_body_over_reused_connections(aiohttp_server: Any) -> None:
    seen: list[tuple[str | None, str | None, bytes]] = []
    peers: set[Any] = set()

    async def echo(request: web.Request) -> web.Response:
        body = await request.read()
        seen.append((request.headers.get("Authorization"), request.content_type, body))
        peers.add(request.transport.get_extra_info("peername") if request.transport else None)
        status = 201 if body != b"{}" else 409
        return web.json_response({"got": body.decode()}, status=status)

    app = web.Application()
    app.router.add_post("/things", echo)
    server = await aiohttp_server(app)
    client = BenchHttpClient("127.0.0.1", server.port, {"Authorization": "Bearer t"})
    try:
        replies = [await client.post_json("/things", b'{"n": %d}' % n) for n in range(5)]
        conflict = await client.post_json("/things", b"{}")
    finally:
        client.close()
    assert [status for status, _ in replies] == [201] * 5
    assert replies[3][1] == b'{"got": "{\\"n\\": 3}"}'
    assert conflict[0] == 409
    assert seen[0] == ("Bearer t", "application/json", b'{"n": 0}')
    assert len(peers) == 1, "sequential requests should reuse one keep-alive connection"
