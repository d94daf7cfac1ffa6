"""The error body every entry point returns: `{"error", "code", "request_id", "details"?}` (docs/api.md
"Errors"); the status of each code is in the one error table, amss/app/error_codes.py.
"""

from __future__ import annotations

from typing import Any

import orjson


def error_body(code: str, message: str, request_id: str, details: dict[str, Any] | None = None) -> bytes:
    body: dict[str, Any] = {"error": message, "code": code, "request_id": request_id}
    if details:
        body["details"] = details
    return orjson.dumps(body)
