"""A minimal AMSS webhook receiver (stdlib only): verifies every delivery, then hands the event on.

Run it with the secret POST /api/v1/webhooks returned (or several, comma-separated, while you move to a
rotated one):

    AMSS_WEBHOOK_SECRET=<64 hex> python examples/webhook_receiver.py --port 9000

and subscribe `http://<this host>:9000/` (https behind a TLS proxy in production). It answers 204 to a
delivery whose `X-Webhook-Signature` matches and whose `X-Webhook-Timestamp` is within the replay window
of its clock, 401 to anything else, 413 to a body over 1 MiB; each event is printed as one JSON line.
Deliveries are at least once: deduplicate on the body's `event_id` (or `X-Webhook-Delivery-Id`) before
acting; this example remembers the last 10,000 delivery ids. The check is
`amss.domain.webhook_signing.verify` (stdlib only: copy that file if you do not install amss).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Lock
from typing import Any, Final

from amss.domain.webhook_signing import verify

MAX_BODY: Final = 1024 * 1024
REMEMBERED: Final = 10_000

Handler = Callable[[dict[str, Any]], None]


def _print_event(event: dict[str, Any]) -> None:
    print(json.dumps(event, separators=(",", ":")), flush=True)


class _Seen:
    """The most recent delivery ids, so a redelivered one is acknowledged without being handled twice."""

    def __init__(self, size: int = REMEMBERED) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = Lock()

    def first_time(self, delivery_id: str) -> bool:
        with self._lock:
            if delivery_id in self._ids:
                return False
            self._ids[delivery_id] = None
            if len(self._ids) > self._size:
                self._ids.popitem(last=False)
            return True


def make_server(
    secrets: Sequence[str],
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    on_event: Handler = _print_event,
    window_seconds: int = 300,
    now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
) -> ThreadingHTTPServer:
    """A server (not yet serving) that verifies each POST against any of `secrets` and passes the event on."""
    if not secrets:
        raise ValueError("at least one webhook secret is needed")
    seen = _Seen()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = self.headers.get("Content-Length", "")
            if not length.isdigit():
                return self._answer(411)
            if int(length) > MAX_BODY:
                return self._answer(413)
            body = self.rfile.read(int(length))
            signature = self.headers.get("X-Webhook-Signature")
            timestamp = self.headers.get("X-Webhook-Timestamp")
            now = now_ms()
            if not any(
                verify(secret, signature, timestamp, body, now_ms=now, window_seconds=window_seconds)
                for secret in secrets
            ):
                return self._answer(401)
            try:
                event = json.loads(body)
            except ValueError:
                return self._answer(400)
            if not isinstance(event, dict):
                return self._answer(400)
            delivery_id = self.headers.get("X-Webhook-Delivery-Id") or str(event.get("event_id"))
            if seen.first_time(delivery_id):
                on_event(event)
            return self._answer(204)

        def _answer(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")

    return ThreadingHTTPServer((host, port), Receiver)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--window", type=int, default=300, help="replay window in seconds (the org policy's)")
    args = parser.parse_args(argv)
    secrets = [part.strip() for part in os.environ.get("AMSS_WEBHOOK_SECRET", "").split(",") if part.strip()]
    if not secrets:
        print("set AMSS_WEBHOOK_SECRET to the secret POST /api/v1/webhooks returned", file=sys.stderr)
        return 2
    server = make_server(secrets, args.host, args.port, window_seconds=args.window)
    print(f"listening on http://{args.host}:{server.server_address[1]}/", file=sys.stderr)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
