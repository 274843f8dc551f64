"""Helpers for tests of streams: a gateway over a throwaway data directory.

Like Falcon's ``testing`` module, this ships with the package so tests (ours and users') build
real gateways with the embedded broker in a few lines, without HTTP.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from streams.engine.gateway import Api, Gateway
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
