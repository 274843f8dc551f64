"""Fixtures shared by the unit tests: gateways drained after each test, and a broker on the
test's data directory (the embedded one: real SQLite in a temp dir)."""

from __future__ import annotations

from typing import Any

import pytest

from streams.brokers.embedded import EmbeddedBroker
from streams.engine.testing import Gateways


@pytest.fixture
def gateways() -> Any:
    made = Gateways()
    yield made
    made.drain_all()


@pytest.fixture
def broker(tmp_path: Any) -> Any:
    b = EmbeddedBroker(str(tmp_path))
    yield b
    b.close()


@pytest.fixture
def servers() -> Any:
    """Loopback servers a test started (``tests.http_auth_server.serve``), stopped at its end."""
    started: list[Any] = []
    yield started
    for server in started:
        server.stop()
