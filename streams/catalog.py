"""Every stream component the gateway runs, in one explicit table per kind.

The definitions validator and the engine's builder look components up here; nothing registers
itself on import. Adding a component: write its module (ending in a ``SPEC``) and list it below.
"""

from __future__ import annotations

from streams import registry
from streams.inputs import broker as broker_input
from streams.inputs import generate as generate_input
from streams.inputs import http_server as http_server_input
from streams.inputs import kafka as kafka_input
from streams.inputs import kafka_franz as kafka_franz_input
from streams.outputs import broker as broker_output
from streams.outputs import drop as drop_output
from streams.outputs import http_client as http_client_output
from streams.outputs import http_server as http_server_output
from streams.outputs import kafka as kafka_output
from streams.outputs import kafka_franz as kafka_franz_output
from streams.outputs import stdout as stdout_output
from streams.outputs import sync_response as sync_response_output
from streams.processors import branch, catch, dedupe, log, mapping, sleep, switch, try_
from streams.processors import sync_response as sync_response_processor
from streams.registry import ComponentSpec

INPUTS = registry.table(
    broker_input.SPEC,
    generate_input.SPEC,
    http_server_input.SPEC,
    kafka_input.SPEC,
    kafka_franz_input.SPEC,
)
OUTPUTS = registry.table(
    broker_output.SPEC,
    drop_output.SPEC,
    http_client_output.SPEC,
    http_server_output.SPEC,
    kafka_output.SPEC,
    kafka_franz_output.SPEC,
    stdout_output.SPEC,
    sync_response_output.SPEC,
)
PROCESSORS = registry.table(
    branch.SPEC,
    catch.SPEC,
    dedupe.SPEC,
    log.SPEC,
    mapping.SPEC_MAPPING,
    mapping.SPEC_BLOBLANG,
    mapping.SPEC_MUTATION,
    sleep.SPEC,
    switch.SPEC,
    sync_response_processor.SPEC,
    try_.SPEC,
)
TABLES: dict[str, dict[str, ComponentSpec]] = {"input": INPUTS, "output": OUTPUTS, "processor": PROCESSORS}
