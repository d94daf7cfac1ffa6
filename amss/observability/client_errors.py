"""A client's malformed HTTP request (bad request line, bad header) is logged as one warning line.

aiohttp's low-level server (`RequestHandler.handle_error`, logger `aiohttp.server`) logs every
request it could not parse with `logger.exception`: an ERROR with a traceback, as if the server
had failed. A parse error (`HttpProcessingError`: `BadHttpMessage`, `BadStatusLine`,
`LineTooLong`, `InvalidHeader`...) is the client's fault; this filter turns that record into a
WARNING naming the error, without the traceback. Every other record passes unchanged.
"""

from __future__ import annotations

import logging
from typing import Final

from aiohttp.http_exceptions import HttpProcessingError

SERVER_LOGGER: Final = "aiohttp.server"


class MalformedRequestFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError):
            record.msg = f"{record.getMessage()}: malformed request ({type(error).__name__}: {error.message})"
            record.args = ()
            record.levelno, record.levelname = logging.WARNING, logging.getLevelName(logging.WARNING)
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def log_malformed_requests_as_warnings() -> None:
    """Install the filter on aiohttp's server logger, once."""
    server_logger = logging.getLogger(SERVER_LOGGER)
    if not any(isinstance(existing, MalformedRequestFilter) for existing in server_logger.filters):
        server_logger.addFilter(MalformedRequestFilter())
