"""``mqtt`` output: publish each message to an (interpolated) MQTT topic; a write returns once
the broker acknowledged every message of the batch (PUBACK for QoS 1, PUBCOMP for QoS 2; QoS 0
once the bytes left), or fails after ``write_timeout`` (Bento's fields, ``internal/impl/mqtt``).

NOTE: this output runs in every gunicorn worker. Two workers connecting with one client id
would take the connection from each other without end (the broker drops the older session), so
a non-empty ``client_id`` gets ``-<pid>`` appended here unless ``dynamic_client_id_suffix`` is set.
A lost connection is made again on the next write.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

import gevent.lock
from paho.mqtt import client as paho

from streams import registry
from streams.bloblang import MappingError
from streams.brokers.base import BrokerError
from streams.connectors.mqtt import CLIENT_FIELDS, PLAIN_DESPITE_TLS, MqttConnection, MqttOptions, check_qos, connect
from streams.contracts import Output, OutputError, Transaction
from streams.durations import parse_duration
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field


class MqttOutput(Output):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        options = MqttOptions.from_config(conf, res.path)
        if options.client_id and not conf.get("dynamic_client_id_suffix"):
            options = replace(options, client_id=f"{options.client_id}-{os.getpid()}")
        self.options = options
        self.topic = res.interpolation(str(conf["topic"]))
        self.qos = check_qos(conf["qos"], f"{res.path}.qos")
        self.write_timeout = parse_duration(conf["write_timeout"], 3.0)
        self.retained = bool(conf["retained"])
        text = str(conf["retained_interpolated"] or "")
        self.retained_interpolated = res.interpolation(text) if text else None
        self.log = res.logger()
        if self.options.plain_despite_tls:
            self.log.warning(PLAIN_DESPITE_TLS.format(path=res.path))
        self._conn: MqttConnection | None = None
        self._connecting = gevent.lock.Semaphore()

    def _connection(self) -> MqttConnection:
        with self._connecting:
            if self._conn is None or self._conn.lost.is_set():
                if self._conn is not None:
                    self.log.warning(f"mqtt connection to {self._conn.where} lost; connecting again")
                    self._conn.close()
                    self._conn = None
                try:
                    self._conn = connect(self.options, clean_session=True)
                except BrokerError as exc:
                    raise OutputError(str(exc)) from None
            return self._conn

    def _retain(self, msg: Message, batch: list[Message], index: int) -> bool:
        if self.retained_interpolated is None:
            return self.retained
        text = self.retained_interpolated.render(msg, batch, index).strip()
        if text not in ("true", "false"):
            raise OutputError(f"mqtt retained_interpolated gave {text!r}, not true or false")
        return text == "true"

    def write(self, batch: list[Message], txn: Transaction) -> None:
        conn = self._connection()
        pending: list[tuple[str, paho.MQTTMessageInfo]] = []
        for index, msg in enumerate(batch):
            try:
                topic = self.topic.render(msg, batch, index)
                retain = self._retain(msg, batch, index)
            except MappingError as exc:
                raise OutputError(f"mqtt topic interpolation failed: {exc}") from exc
            info = conn.client.publish(topic, msg.content, self.qos, retain)
            if info.rc != paho.MQTT_ERR_SUCCESS:
                raise OutputError(f"mqtt publish to {topic} on {conn.where} failed: {paho.error_string(info.rc)}")
            pending.append((topic, info))
        for topic, info in pending:
            try:
                info.wait_for_publish(self.write_timeout)
            except (RuntimeError, ValueError) as exc:
                raise OutputError(f"mqtt publish to {topic} on {conn.where} failed: {exc}") from None
            if not info.is_published():
                raise OutputError(f"mqtt publish to {topic} on {conn.where} not acknowledged within {self.write_timeout:g}s")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _factory(conf: dict[str, Any], res: Resources) -> MqttOutput:
    return MqttOutput(conf, res)


SPEC = registry.output(
    "mqtt",
    _factory,
    *CLIENT_FIELDS,
    Field("topic", "string", doc="Topic to publish to (interpolated)."),
    Field("qos", "int", 1, "QoS of the messages (0, 1, 2).", options=(0, 1, 2)),
    Field("write_timeout", "duration", "3s", "Longest wait for the broker to acknowledge a message."),
    Field("retained", "bool", False, "Publish messages retained."),
    Field("retained_interpolated", "string", "", "Interpolated `true`/`false` overriding retained per message."),
    Field("max_in_flight", "int", 64, "Accepted; every write waits for its own acknowledgements."),
    doc="Publish messages to MQTT topics.",
)
