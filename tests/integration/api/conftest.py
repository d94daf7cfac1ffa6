"""The API tests run command endpoints with the mesh off: no worker runs here, so the same handlers
run in the API process (the local executor). The mesh path has tests of its own
(tests/integration/test_aircraft_mesh.py and the mesh tests)."""

from __future__ import annotations

import pytest

from amss.config import Settings


@pytest.fixture(scope="session")
def api_settings(api_settings: Settings) -> Settings:
    return api_settings.model_copy(update={"amss_mesh": False})
