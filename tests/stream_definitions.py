"""The text of an API definition with one stream ``m`` around one component's config block, for
the tests that check what the definitions loader says about that block."""

from __future__ import annotations

import textwrap

_OTHER_SIDE = {"input": "output:\n        drop: {}", "output": "input:\n        http_server: {}"}


def one_component_definition(component: str, block: str, kind: str = "input") -> str:
    """``block`` (YAML, any indentation) as the config of ``component`` on the stream's ``kind``
    side; the other side is a ``drop`` output or an ``http_server`` input."""
    return (
        "openapi: 3.0.3\ninfo: {title: t, version: 1.0.0}\npaths: {}\n"
        f"x-tyk-streaming:\n  streams:\n    m:\n      {kind}:\n        {component}:\n"
        + textwrap.indent(textwrap.dedent(block), "          ")
        + f"      {_OTHER_SIDE[kind]}\n"
        "x-tyk-api-gateway:\n  info: {name: t, state: {active: true}}\n"
        "  server: {listenPath: {value: /t/, strip: true}}\n"
    )
