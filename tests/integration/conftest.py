"""Fixtures the integration tests of the message-broker components share: gateways drained at
the end of a test, and an embedded broker for what a stream writes besides its real broker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from streams.brokers.embedded import EmbeddedBroker
from streams.engine.testing import Gateways


@pytest.fixture
def gateways() -> Iterator[Gateways]:
    made = Gateways()
    yield made
    made.drain_all()


@pytest.fixture
def broker(tmp_path: Any) -> Iterator[EmbeddedBroker]:
    """An embedded broker (``test_kafka_broker`` has a ``broker`` of its own: a real Kafka)."""
    b = EmbeddedBroker(str(tmp_path))
    yield b
    b.close()
