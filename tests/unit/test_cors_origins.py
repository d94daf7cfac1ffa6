"""Which Origin a response may be shared with, for each CORS_ALLOWED_ORIGINS setting."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from amss.api.rest.cors import allowed_origin
from amss.config import load_settings
from amss.runtime import SETTINGS


def _request(configured: str, origin: str | None) -> web.Request:
    app = web.Application()
    app[SETTINGS] = load_settings({"CORS_ALLOWED_ORIGINS": configured})
    headers = {"Origin": origin} if origin is not None else {}
    return make_mocked_request("GET", "/api/v1/users", headers=headers, app=app)


@pytest.mark.parametrize(
    ("configured", "origin", "expected"),
    [
        ("", "https://ops.example", None),
        ("https://ops.example", None, None),
        ("https://ops.example", "https://ops.example", "https://ops.example"),
        ("https://ops.example", "https://evil.example", None),
        ("https://ops.example", "http://ops.example", None),
        ("https://ops.example", "https://ops.example:8443", None),
        ("https://ops.example/", "https://ops.example", "https://ops.example"),
        ("https://OPS.example", "https://ops.example", "https://ops.example"),
        ("https://a.example,https://ops.example", "https://ops.example", "https://ops.example"),
        ("*", "https://anyone.example", "*"),
        ("*", None, None),
    ],
)
def test_allowed_origin(configured: str, origin: str | None, expected: str | None) -> None:
    assert allowed_origin(_request(configured, origin)) == expected
