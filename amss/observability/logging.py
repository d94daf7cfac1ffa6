"""JSON logging: one object per line on stderr, with a UTC timestamp, level and logger name."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from amss.observability.client_errors import log_malformed_requests_as_warnings

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def configure_logging(level: str = "info") -> None:
    """Replace the root handlers with one JSON handler; safe to call more than once."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            datefmt="%Y-%m-%dT%H:%M:%S%z",
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(_LEVELS.get(level, logging.INFO))
    # aiohttp's own access log is replaced by the API's JSON access log middleware
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # a client's unparsable request is a warning, not a server error with a traceback
    log_malformed_requests_as_warnings()
