"""Fixtures for the server's tests: a live memkit server on loopback, keys per project."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from memkit.server import ServerSettings
from memkit.testing.live_server import LiveServer


@pytest.fixture(autouse=True)
def _no_client_telemetry(monkeypatch) -> None:
    # The platform's client (mem0ai) reports usage unless told not to.
    monkeypatch.setenv("MEM0_TELEMETRY", "False")


@pytest.fixture
def live_server(tmp_path) -> Iterator[LiveServer]:
    """A server with embedded projects under tmp_path; ``live.new_key("proj")``."""
    with LiveServer(ServerSettings(home=tmp_path / "server")) as live:
        yield live
