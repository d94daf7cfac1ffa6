"""The one type of the aiohttp test clients the tests drive (a REST app behind a test server)."""

from __future__ import annotations

from typing import TypeAlias

from aiohttp import web
from aiohttp.test_utils import TestClient

ApiClient: TypeAlias = TestClient[web.Request, web.Application]
