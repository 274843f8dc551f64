"""``mqtt`` input: messages of MQTT topics, acknowledged to the broker after every output
acknowledged them (Bento's ``internal/impl/mqtt`` fields and metadata).

Delivery promise by QoS:

* QoS 1 (the default): the PUBACK is sent only once the message was written by every output
  (paho's ``manual_ack``). A failed write is retried here, with a growing pause, and the message
  stays unacknowledged meanwhile; when the gateway stops or the connection drops first, a
  persistent session (``clean_session: false`` with a fixed ``client_id``) gets it from the broker
  again (at least once). A clean session (the default, as Bento) drops what the broker had not
  seen acknowledged when the session ends: that is MQTT's rule, not ours.
* QoS 2: paho answers the broker's PUBLISH with PUBREC before the message reaches us, and from
  then on the broker never sends it again; only PUBCOMP waits for the outputs. A message whose
  write never succeeds before the gateway stops is lost (at most once past PUBREC).
* QoS 0: nothing to acknowledge (at most once).

The input runs once per host (a second worker subscribing too would receive every message again),
unless every topic is a shared subscription (``$share/<group>/...``), where the broker hands each
message to one member.

Metadata: ``mqtt_duplicate``, ``mqtt_qos``, ``mqtt_retained``, ``mqtt_topic``,
``mqtt_message_id``. ``auto_replay_nacks`` is accepted: failed writes are always retried.
"""

from __future__ import annotations

from typing import Any

import gevent.event
import gevent.queue
from paho.mqtt import client as paho

from streams import registry
from streams.brokers.base import BrokerError
from streams.connectors.mqtt import CLIENT_FIELDS, PLAIN_DESPITE_TLS, MqttConnection, MqttOptions, check_qos, connect
from streams.contracts import ConfigError, Deliver, Input, Stopping
from streams.engine.resources import Resources
from streams.message import Message
from streams.registry import Field

SUBSCRIBE_TIMEOUT = 30.0
RETRY_PAUSE_MAX = 5.0


def message_of(received: paho.MQTTMessage) -> Message:
    """The stream message of an MQTT PUBLISH, with Bento's metadata."""
    return Message(
        bytes(received.payload),
        {
            "mqtt_duplicate": bool(received.dup),
            "mqtt_qos": int(received.qos),
            "mqtt_retained": bool(received.retain),
            "mqtt_topic": received.topic,
            "mqtt_message_id": int(received.mid),
        },
    )


class MqttInput(Input):
    def __init__(self, conf: dict[str, Any], res: Resources) -> None:
        self.options = MqttOptions.from_config(conf, res.path)
        self.topics = [str(t) for t in conf["topics"] or []]
        if not self.topics:
            raise ConfigError(f"{res.path}.topics: at least one topic is required")
        self.qos = check_qos(conf["qos"], f"{res.path}.qos")
        self.clean_session = bool(conf["clean_session"])
        if not self.clean_session and not self.options.client_id:
            raise ConfigError(f"{res.path}.client_id: a persistent session (clean_session: false) needs a client_id")
        self.shared_by_nature = all(t.startswith("$share/") for t in self.topics)
        self.log = res.logger()
        if self.options.plain_despite_tls:
            self.log.warning(PLAIN_DESPITE_TLS.format(path=res.path))

    def run(self, deliver: Deliver, stopping: Stopping) -> None:
        received: gevent.queue.Queue[paho.MQTTMessage] = gevent.queue.Queue()
        conn = connect(self.options, clean_session=self.clean_session, manual_ack=True, on_message=received.put)
        try:
            self._subscribe(conn)
            self.log.info(f"mqtt input subscribed to {', '.join(self.topics)} on {conn.where}")
            while not stopping.is_set():
                try:
                    incoming = received.get(timeout=0.5)
                except gevent.queue.Empty:
                    if conn.lost.is_set():
                        raise BrokerError(f"mqtt connection to {conn.where} lost") from None
                    continue
                if not self._write(incoming, conn, deliver, stopping):
                    return
                conn.client.ack(incoming.mid, incoming.qos)
        finally:
            conn.close()

    def _subscribe(self, conn: MqttConnection) -> None:
        granted = gevent.event.AsyncResult()
        conn.client.on_subscribe = lambda _c, _u, _mid, codes, _p: granted.set(codes)
        result, _ = conn.client.subscribe([(t, self.qos) for t in self.topics])
        if result != paho.MQTT_ERR_SUCCESS:
            raise BrokerError(f"mqtt subscribe on {conn.where} failed: {paho.error_string(result)}")
        codes = granted.wait(SUBSCRIBE_TIMEOUT)
        if codes is None:
            raise BrokerError(f"mqtt broker {conn.where} did not answer the subscription")
        refused = [t for t, code in zip(self.topics, codes, strict=False) if code.is_failure]
        if refused:
            raise BrokerError(f"mqtt broker {conn.where} refused the subscription to {', '.join(refused)}")

    def _write(self, incoming: paho.MQTTMessage, conn: MqttConnection, deliver: Deliver, stopping: Stopping) -> bool:
        """Deliver until every output acknowledged: True, or False when the stream stops first.
        A connection lost meanwhile ends the run: acknowledging on it is no longer possible, and
        a persistent session gets the message again on the next connection."""
        msg = message_of(incoming)
        pause = 0.1
        while not deliver([msg.copy()]):
            if conn.lost.is_set():
                raise BrokerError(f"mqtt connection to {conn.where} lost with a message unacknowledged")
            if stopping.wait(pause):
                return False
            pause = min(pause * 2, RETRY_PAUSE_MAX)
        return True


def _factory(conf: dict[str, Any], res: Resources) -> MqttInput:
    return MqttInput(conf, res)


SPEC = registry.input(
    "mqtt",
    _factory,
    *CLIENT_FIELDS,
    Field("topics", "string_list", doc="Topics (filters) to subscribe to."),
    Field("qos", "int", 1, "QoS of the subscriptions (0, 1, 2).", options=(0, 1, 2)),
    Field("clean_session", "bool", True, "Start a clean session (false keeps unacknowledged messages across connections)."),
    Field("auto_replay_nacks", "bool", True, "Accepted; failed writes are always retried."),
    doc="Subscribe to MQTT topics.",
)
