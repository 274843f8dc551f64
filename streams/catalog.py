"""Every stream component the gateway runs, in one explicit table per kind.

The definitions validator and the engine's builder look components up here; nothing registers
itself on import. Adding a component: write its module (ending in a ``SPEC``) and list it below.
"""

from __future__ import annotations

from streams import registry
from streams.caches import memory
from streams.inputs import amqp_0_9 as amqp_0_9_input
from streams.inputs import amqp_1 as amqp_1_input
from streams.inputs import broker as broker_input
from streams.inputs import generate as generate_input
from streams.inputs import http_client as http_client_input
from streams.inputs import http_server as http_server_input
from streams.inputs import kafka as kafka_input
from streams.inputs import kafka_franz as kafka_franz_input
from streams.inputs import mqtt as mqtt_input
from streams.inputs import nats as nats_input
from streams.outputs import amqp_0_9 as amqp_0_9_output
from streams.outputs import amqp_1 as amqp_1_output
from streams.outputs import broker as broker_output
from streams.outputs import drop as drop_output
from streams.outputs import http_client as http_client_output
from streams.outputs import http_server as http_server_output
from streams.outputs import kafka as kafka_output
from streams.outputs import kafka_franz as kafka_franz_output
from streams.outputs import mqtt as mqtt_output
from streams.outputs import nats as nats_output
from streams.outputs import stdout as stdout_output
from streams.outputs import sync_response as sync_response_output
from streams.processors import (
    archive,
    bounds_check,
    branch,
    cache,
    cached,
    catch,
    compress,
    dedupe,
    for_each,
    grok,
    group_by,
    http,
    insert_part,
    jmespath_query,
    jq_query,
    json_schema,
    log,
    mapping,
    metric,
    noop,
    parallel,
    parse_log,
    rate_limit,
    resource,
    retry,
    select_parts,
    sleep,
    split,
    switch,
    try_,
    unarchive,
    while_,
    workflow,
)
from streams.processors import sync_response as sync_response_processor
from streams.registry import ComponentSpec

INPUTS = registry.table(
    amqp_0_9_input.SPEC,
    amqp_1_input.SPEC,
    broker_input.SPEC,
    generate_input.SPEC,
    http_client_input.SPEC,
    http_server_input.SPEC,
    kafka_input.SPEC,
    kafka_franz_input.SPEC,
    mqtt_input.SPEC,
    nats_input.SPEC,
)
OUTPUTS = registry.table(
    amqp_0_9_output.SPEC,
    amqp_1_output.SPEC,
    broker_output.SPEC,
    drop_output.SPEC,
    http_client_output.SPEC,
    http_server_output.SPEC,
    kafka_output.SPEC,
    kafka_franz_output.SPEC,
    mqtt_output.SPEC,
    nats_output.SPEC,
    stdout_output.SPEC,
    sync_response_output.SPEC,
)
PROCESSORS = registry.table(
    archive.SPEC,
    bounds_check.SPEC,
    branch.SPEC,
    cache.SPEC,
    cached.SPEC,
    catch.SPEC,
    compress.SPEC_COMPRESS,
    compress.SPEC_DECOMPRESS,
    dedupe.SPEC,
    for_each.SPEC,
    grok.SPEC,
    group_by.SPEC,
    group_by.SPEC_VALUE,
    http.SPEC,
    insert_part.SPEC,
    jmespath_query.SPEC,
    jq_query.SPEC,
    json_schema.SPEC,
    log.SPEC,
    mapping.SPEC_MAPPING,
    mapping.SPEC_BLOBLANG,
    mapping.SPEC_MUTATION,
    metric.SPEC,
    noop.SPEC,
    parallel.SPEC,
    parse_log.SPEC,
    rate_limit.SPEC,
    resource.SPEC,
    retry.SPEC,
    select_parts.SPEC,
    sleep.SPEC,
    split.SPEC,
    switch.SPEC,
    sync_response_processor.SPEC,
    try_.SPEC,
    unarchive.SPEC,
    while_.SPEC,
    workflow.SPEC,
)
CACHES = registry.table(
    memory.SPEC,
)
TABLES: dict[str, dict[str, ComponentSpec]] = {
    "input": INPUTS,
    "output": OUTPUTS,
    "processor": PROCESSORS,
    "cache": CACHES,
}
