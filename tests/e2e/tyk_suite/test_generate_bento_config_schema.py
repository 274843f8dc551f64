"""Tyk's ``apidef/streams/bento/schema/generate_bento_config_schema_test.go``, from outside.

Tyk generates the JSON schema its validator uses and tests that every supported source
(``broker``, ``http_client``, ``http_server``, ``kafka``, ``amqp_0_9``, ``amqp_1``, ``mqtt``)
is in it as an input and as an output, and that ``http_client.url`` must be a URI. Replayed
here as what the schema is for: a definition using each source as an input (resp. output) with
a minimal config passes ``python -m streams lint``, and an ``http_client`` whose ``url`` is no
URI is refused. The cases that feed the generator broken schema JSON
(``TestAddURIFormatToHTTPClient_Malformed_input``) test the generator alone and are not replayed.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.tyk_suite.suite import DEFINITIONS, lint

SUPPORTED_SOURCES = ["broker", "http_client", "http_server", "kafka", "amqp_0_9", "amqp_1", "mqtt"]


def _problems_by_stream(name: str) -> dict[str, list[str]]:
    """Lint's problems for ``definitions/<name>``, grouped by the stream they are in."""
    grouped: dict[str, list[str]] = {}
    for line in lint(DEFINITIONS / name).stdout.splitlines():
        match = re.match(r"^.*?:\d+:\d+: streams\.([^.]+)\.(.*)$", line)
        if match:
            grouped.setdefault(match[1], []).append(match[2])
    return grouped


@pytest.mark.parametrize("kind", ["input", "output"])
@pytest.mark.parametrize("source", SUPPORTED_SOURCES)
def test_generate_bento_config_schema(kind: str, source: str) -> None:
    """TestGenerateBentoConfigSchema: ``source`` is a valid ``kind`` (the stream named after it
    in ``supported-<kind>s.yaml`` has no problem)."""
    found = _problems_by_stream(f"supported-{kind}s.yaml").get(source, [])
    assert found == [], found


@pytest.mark.parametrize("kind", ["input", "output"])
def test_add_uri_format_to_http_client(kind: str) -> None:
    """TestAddURIFormatToHTTPClient: an ``http_client`` ``kind`` whose ``url`` is not a URI is
    refused at ``<kind>.http_client.url``."""
    found = _problems_by_stream("http-client-url.yaml").get(f"{kind}_not_a_uri", [])
    assert [p for p in found if p.startswith(f"{kind}.http_client.url: ")], found
    assert len(found) == 1, found
