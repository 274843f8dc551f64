"""``kafka_franz`` input: Bento's other Kafka input, read by the ``kafka`` input's machinery.

Its fields map one to one onto the ``kafka`` input's (``seed_brokers`` are the ``addresses``, the
``sasl`` list's single entry is the ``sasl`` block with ``username``/``token`` spelled
``user``/``access_token``), so it consumes, commits, feeds hubs and reaches secured clusters
exactly as ``streams.inputs.kafka`` describes. ``regexp_topics`` is refused (topics are named),
the rest of what franz tunes is accepted and ignored.
"""

from __future__ import annotations

from typing import Any

from streams import registry
from streams.brokers.security import franz_sasl, franz_sasl_problems
from streams.contracts import ConfigError
from streams.engine.resources import Resources
from streams.inputs.kafka import TLS_FIELD, KafkaInput
from streams.registry import Field

SASL_LIST_FIELD = Field(
    "sasl",
    "any",
    [],
    "SASL: a list of one {mechanism, username, password, token} (else STREAMS_KAFKA_SASL_* applies).",
    check=franz_sasl_problems,
)
"""``kafka_franz``'s ``sasl``: a list, as Bento has it."""


def as_kafka_config(conf: dict[str, Any]) -> dict[str, Any]:
    """The ``kafka`` input's config for a ``kafka_franz`` one."""
    return {
        "addresses": conf["seed_brokers"],
        "topics": conf["topics"],
        "consumer_group": conf["consumer_group"],
        "start_from_oldest": conf["start_from_oldest"],
        "commit_period": conf["commit_period"],
        "checkpoint_limit": conf["checkpoint_limit"],
        "group": {},
        "tls": conf["tls"],
        "sasl": franz_sasl(conf["sasl"]),
    }


def _factory(conf: dict[str, Any], res: Resources) -> KafkaInput:
    if conf["regexp_topics"]:
        raise ConfigError(f"{res.path}.regexp_topics: not supported; name the topics")
    return KafkaInput(as_kafka_config(conf), res)


SPEC = registry.input(
    "kafka_franz",
    _factory,
    Field("seed_brokers", "string_list", doc="Broker addresses; replaced by STREAMS_KAFKA_BROKERS."),
    Field("topics", "string_list", doc="Topics to consume (entries may hold comma-separated names)."),
    Field("regexp_topics", "bool", False, "Refused when true: topics are named."),
    Field("consumer_group", "string", "", "Group whose offsets are committed."),
    Field("client_id", "string", "benthos", "Accepted and ignored."),
    Field("rack_id", "string", "", "Accepted and ignored."),
    Field("checkpoint_limit", "int", 1024, "Most records read at once."),
    Field("auto_replay_nacks", "bool", True, "Accepted; failed writes are always retried."),
    Field("commit_period", "duration", "5s", "Commit interval of stream-client positions."),
    Field("start_from_oldest", "bool", True, "Where a group with no committed offset starts."),
    TLS_FIELD,
    SASL_LIST_FIELD,
    Field("multi_header", "bool", False, "Accepted and ignored."),
    Field("batching", "object", {}, "Accepted and ignored: records are processed one at a time."),
    doc="Consume Kafka topics (Bento's franz-go based input).",
)
