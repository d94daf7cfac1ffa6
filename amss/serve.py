"""Run aiohttp applications until SIGTERM or SIGINT, then shut down cleanly (no traceback)."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal

from aiohttp import web

from amss.config import split_address

log = logging.getLogger(__name__)

# HTTP framing limits of aiohttp's low-level parser (its defaults are 8190 bytes). Past them the
# request is refused before the application sees it, with a plain-text 400. A request line must fit
# every query the API documents at its longest (a 4096-character cursor of 4-byte characters,
# percent-encoded, is 48 KiB); a header line, every header it documents.
MAX_REQUEST_LINE_BYTES = 64 * 1024
MAX_HEADER_FIELD_BYTES = 16 * 1024


async def serve(app: web.Application, address: str, *, name: str, shutdown_timeout: float) -> None:
    """Serve `app` on `address` until a stop signal; start-up failures propagate."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(
        app,
        access_log=None,
        shutdown_timeout=shutdown_timeout,
        handle_signals=False,
        max_line_size=MAX_REQUEST_LINE_BYTES,
        max_field_size=MAX_HEADER_FIELD_BYTES,
    )
    await runner.setup()
    try:
        host, port = split_address(address)
        site = web.TCPSite(runner, host, port, reuse_address=True)
        await site.start()
        # everything built so far (modules, app, pools) lives as long as the process: keep it out of
        # the cyclic collector's generations, so a full collection walks only what requests create
        # (a full walk of the start-up heap takes tens of milliseconds, paid by whichever request waits)
        gc.freeze()
        log.info("listening", extra={"service": name, "address": address})
        await stop.wait()
        log.info("stopping", extra={"service": name})
    finally:
        await runner.cleanup()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    log.info("stopped", extra={"service": name})
