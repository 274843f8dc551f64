"""Helpers for tests of streams: a gateway over a throwaway data directory.

Like Falcon's ``testing`` module, this ships with the package so tests (ours and users') build
real gateways with the embedded broker in a few lines, without HTTP.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import gevent

from streams.brokers.base import Broker, Record
from streams.engine.delivery import PushResult
from streams.engine.gateway import Api, Gateway
from streams.message import Message
from streams.settings import Settings


def make_settings(data_dir: str, **overrides: Any) -> Settings:
    """Settings for a test: the embedded broker under ``data_dir``; ``overrides`` win."""
    return replace(Settings(data_dir=data_dir, kafka_brokers="embedded", definitions_dir=data_dir), **overrides)


def make_gateway(
    data_dir: str,
    streams: dict[str, Any],
    *,
    name: str = "test",
    listen_path: str = "/test/",
    context_variables: bool = True,
    start: bool = True,
    **overrides: Any,
) -> tuple[Gateway, Api]:
    """One gateway (= one worker process) with one API holding ``streams``."""
    gateway = Gateway(make_settings(data_dir, **overrides))
    api = gateway.add_api(name, listen_path, streams, context_variables=context_variables)
    if start:
        gateway.start()
    return gateway, api


DEADLINE = 30.0
"""Upper bound for anything a test waits on; a healthy run needs a small fraction of it."""


class Gateways:
    """Makes gateways for one test and drains them all at the end (use as a fixture body)."""

    def __init__(self) -> None:
        self.made: list[Gateway] = []

    def __call__(self, data_dir: Any, streams: dict[str, Any], **kw: Any) -> tuple[Gateway, Api]:
        gw, api = make_gateway(str(data_dir), streams, **kw)
        self.made.append(gw)
        return gw, api

    def drain_all(self) -> None:
        for gw in self.made:
            gw.drain(5.0)


def wait_until(cond: Callable[[], Any], what: str, deadline: float = DEADLINE) -> Any:
    """Poll ``cond`` (yielding to other greenlets) until it returns something truthy."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        got = cond()
        if got:
            return got
        gevent.sleep(0.02)
    raise AssertionError(f"gave up waiting for {what}")


def read_topic(broker: Broker, topic: str) -> list[Record]:
    """Every record of a topic, from the beginning (without touching any group)."""
    reader = broker.reader(topic, broker.beginning_offsets(topic))
    try:
        return reader.fetch(timeout=0.5, max_records=100_000)
    finally:
        reader.close()


def push(api: Api, stream: str, payloads: list[bytes], timeout: float = 10.0) -> list[PushResult]:
    """Push each payload through ``stream`` as its HTTP clients would, one after the other, holding
    the instance (as a request does) until the last answer."""
    inst = api.open(stream, {})
    try:
        return [inst.push(Message(p), timeout) for p in payloads]
    finally:
        inst.release()


def push_until_written(api: Api, stream: str, payload: bytes, broker: Broker, topic: str, what: str) -> list[Record]:
    """Push ``payload`` through ``stream`` until ``topic`` has a record: an input on a broker
    subscribes a moment after the gateway starts, so the first pushes may reach nobody. Every
    push must be accepted. Returns the topic's records."""

    def written() -> list[Record]:
        (result,) = push(api, stream, [payload])
        assert result.status == 200, result.error
        return read_topic(broker, topic)

    return wait_until(written, what)
