"""A core NATS client for gevent workers: ``nats_protocol`` over a plain (gevent-patched) socket.

NOTE: nats-py is asyncio-only; an event loop inside a gevent worker would block it or need a
thread per connection. The protocol is small enough to speak here directly.

Life of a connection: TCP connect, read ``INFO`` in plain text, then the TLS handshake when the
URL (``tls://``), the ``tls`` block or the server (``tls_required``) asks for it, with the URL's
host as the name the certificate must carry; send ``CONNECT`` (verbose and pedantic off, headers
on, credentials from the URL, the ``auth`` block's JWT or NKey with its signature of the
``INFO``'s nonce) followed by the subscriptions and a ``PING``; the ``PONG`` means the server accepted all of it, a ``-ERR`` (bad
credentials) that it did not. Then one greenlet reads (answering the server's ``PING``) and
another sends a ``PING`` every ``ping_interval``; more than ``max_pings_out`` unanswered ones end
the connection as lost. A lost connection is made again with a growing pause (servers tried in
order), and the subscriptions are sent again. Messages published to the subjects meanwhile are
not kept for us by the server: core NATS delivers at most once.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from typing import Any, Protocol

import gevent
import gevent.event
import gevent.lock

from streams.brokers.base import BrokerError
from streams.connectors import nats_protocol as proto
from streams.connectors.nats_options import NatsOptions, Server
from streams.connectors.nats_session import Backoff, Pings, Subscriptions
from streams.connectors.nkeys import NKeyError

CONNECT_TIMEOUT = 5.0
PING_INTERVAL = 20.0
MAX_PINGS_OUT = 2
RECONNECT_PAUSE_MIN = 0.1
RECONNECT_PAUSE_MAX = 2.0
READ_SIZE = 65536
CLIENT_LANG = "python-streams"
CLIENT_VERSION = "1.0"


class Log(Protocol):
    def info(self, msg: str) -> None: ...

    def warning(self, msg: str) -> None: ...


OnMessage = Callable[[proto.Msg], None]


class NatsClient:
    """One logical connection to a NATS cluster that keeps itself connected until ``close``.

    ``on_message`` runs in the reading greenlet: it must not block (hand the message on)."""

    def __init__(
        self,
        options: NatsOptions,
        log: Log,
        on_message: OnMessage | None = None,
        ping_interval: float = PING_INTERVAL,
        max_pings_out: int = MAX_PINGS_OUT,
    ) -> None:
        self.options = options
        self.log = log
        self.on_message = on_message
        self.ping_interval = ping_interval
        self.max_pings_out = max_pings_out
        self.connected = gevent.event.Event()
        self.info: dict[str, Any] = {}
        self.server: Server | None = None
        self._sock: socket.socket | None = None
        self._parser = proto.NatsParser()
        self._send_lock = gevent.lock.Semaphore()
        self._pings: Pings[gevent.event.AsyncResult] = Pings()
        self._subs = Subscriptions()
        self._backoff = Backoff(RECONNECT_PAUSE_MIN, RECONNECT_PAUSE_MAX)
        self._closing = False
        self._runner: gevent.Greenlet | None = None
        self._pinger: gevent.Greenlet | None = None

    @property
    def where(self) -> str:
        return self.server.where if self.server else ",".join(s.where for s in self.options.servers)

    @property
    def headers_supported(self) -> bool:
        return bool(self.info.get("headers"))

    # -- connecting ---------------------------------------------------------------------------

    def connect(self) -> None:
        """The first connection; ``BrokerError`` with every server's reason when none accepts."""
        leftover = self._dial()
        self._runner = gevent.spawn(self._run, leftover)
        self._pinger = gevent.spawn(self._ping_loop)

    def _dial(self) -> list[proto.Event]:
        reasons = []
        for server in self.options.servers:
            try:
                return self._handshake(server)
            except (OSError, proto.ProtocolError, BrokerError) as exc:
                reasons.append(f"{server.where}: {exc}")
        raise BrokerError(f"no NATS server accepted the connection ({'; '.join(reasons)})")

    def _handshake(self, server: Server) -> list[proto.Event]:
        """Connect to ``server``; the events that came after the handshake's ``PONG``."""
        sock = socket.create_connection((server.host, server.port), timeout=CONNECT_TIMEOUT)
        # NOTE: a flush is a small PING right after a small PUB; with Nagle's algorithm the PING
        # waits for the server's delayed ACK of the PUB (~40 ms per output write).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        parser = proto.NatsParser()
        try:
            first = self._read_until(sock, parser, proto.Info)[0]
            options = first.options if isinstance(first, proto.Info) else {}
            secured = self._secure(sock, server, options)
            sock = secured or sock
            frames = [proto.connect_frame(self._connect_options(server, options, tls=secured is not None))]
            frames += self._subs.frames()
            sock.sendall(b"".join(frames) + proto.ping_frame())
            events = self._read_until(sock, parser, proto.Pong)
        except BaseException:
            sock.close()
            raise
        sock.settimeout(None)
        with self._send_lock:
            self._sock, self._parser, self.info, self.server = sock, parser, options, server
            self._pings.reset()
        self.connected.set()
        over = " over TLS" if isinstance(sock, ssl.SSLSocket) else ""
        self.log.info(f"nats connected to {server.where}{over} (server {options.get('server_id', '?')})")
        return events[1:]

    def _secure(self, sock: socket.socket, server: Server, info: dict[str, Any]) -> ssl.SSLSocket | None:
        """``sock`` after the TLS handshake, or None when the connection stays plain text."""
        context = self.options.context_for(server, bool(info.get("tls_required")))
        if context is None:
            return None
        if not info.get("tls_required") and not info.get("tls_available"):
            raise BrokerError("TLS was asked for but the server does not offer it")
        try:
            return context.wrap_socket(sock, server_hostname=server.host)
        except ssl.SSLError as exc:
            raise BrokerError(f"TLS handshake failed: {exc}") from None

    def _connect_options(self, server: Server, info: dict[str, Any], *, tls: bool) -> dict[str, Any]:
        options: dict[str, Any] = {
            "verbose": False,
            "pedantic": False,
            "headers": True,
            "no_responders": True,
            "lang": CLIENT_LANG,
            "version": CLIENT_VERSION,
            "protocol": 1,
        }
        if self.options.name:
            options["name"] = self.options.name
        if server.user:
            options["user"], options["pass"] = server.user, server.password
        if server.token:
            options["auth_token"] = server.token
        if tls:
            options["tls_required"] = True
        try:
            options.update(self.options.auth.credentials(str(info.get("nonce") or "")))
        except NKeyError as exc:
            raise BrokerError(f"auth: {exc}") from None
        return options

    @staticmethod
    def _read_until(sock: socket.socket, parser: proto.NatsParser, wanted: type) -> list[proto.Event]:
        """The first ``wanted`` event and the events that came after it in the same read (what
        came before it is skipped); a ``-ERR`` before it raises with the server's reason."""
        while True:
            data = sock.recv(READ_SIZE)
            if not data:
                raise BrokerError("the server closed the connection")
            events = parser.feed(data)
            for index, event in enumerate(events):
                if isinstance(event, proto.ServerError):
                    raise BrokerError(f"the server refused: {event.text}")
                if isinstance(event, wanted):
                    return events[index:]

    # -- running ------------------------------------------------------------------------------

    def _run(self, leftover: list[proto.Event]) -> None:
        """Read until closed; a lost connection is made again with a growing pause."""
        while not self._closing:
            reason = self._read(leftover)
            leftover = []
            self._lost(reason)
            while not self._closing:
                try:
                    leftover = self._dial()
                    self._backoff.reset()
                    break
                except BrokerError as exc:
                    pause = self._backoff.next()
                    self.log.warning(f"nats reconnect failed; again in {pause:g}s: {exc}")
                    gevent.sleep(pause)

    def _read(self, leftover: list[proto.Event]) -> str:
        """Handle events until the connection ends; why it ended."""
        sock = self._sock
        try:
            self._handle(leftover)
            while sock is not None:
                data = sock.recv(READ_SIZE)
                if not data:
                    return "the server closed the connection"
                self._handle(self._parser.feed(data))
        except proto.ProtocolError as exc:
            return f"protocol error: {exc}"
        except OSError as exc:
            return f"connection failed: {exc}"
        return "closed"

    def _handle(self, events: list[proto.Event]) -> None:
        for event in events:
            if isinstance(event, proto.Msg):
                if self.on_message is not None and event.sid in self._subs:
                    self.on_message(event)
            elif isinstance(event, proto.Ping):
                self._send(proto.pong_frame())
            elif isinstance(event, proto.Pong):
                waiter = self._pings.answered()
                if waiter is not None:
                    waiter.set(True)
            elif isinstance(event, proto.ServerError):
                self.log.warning(f"nats server {self.where} reported: {event.text}")
            elif isinstance(event, proto.Info):
                self.info = {**self.info, **event.options}

    def _lost(self, reason: str) -> None:
        with self._send_lock:
            sock, self._sock = self._sock, None
            waiters = self._pings.reset()
        self.connected.clear()
        if sock is not None:
            sock.close()
        for waiter in waiters:
            waiter.set_exception(BrokerError(f"nats connection to {self.where} lost: {reason}"))
        if not self._closing:
            self.log.warning(f"nats connection to {self.where} lost ({reason}); reconnecting")

    def _ping_loop(self) -> None:
        """A ``PING`` every interval; too many unanswered ones end the connection."""
        while not self._closing:
            gevent.sleep(self.ping_interval)
            if not self.connected.is_set():
                continue
            with self._send_lock:
                outstanding = self._pings.outstanding
                sock = self._sock
            if outstanding >= self.max_pings_out and sock is not None:
                self.log.warning(f"nats server {self.where} did not answer {outstanding} pings")
                try:
                    # the reader sees it and reconnects. NOTE: the TLS socket's own shutdown
                    # would drop its TLS state first, and a read then raises ValueError.
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)
                except OSError:
                    pass
                continue
            try:
                self._send(proto.ping_frame(), ping=True)
            except BrokerError:
                continue

    # -- using --------------------------------------------------------------------------------

    def _send(self, frame: bytes, *, ping: bool = False, waiter: gevent.event.AsyncResult | None = None) -> None:
        """Write ``frame``; a ``ping`` expects a PONG, which sets ``waiter`` if there is one."""
        with self._send_lock:
            if self._sock is None:
                raise BrokerError(f"not connected to NATS ({self.where})")
            try:
                self._sock.sendall(frame)
            except OSError as exc:
                raise BrokerError(f"writing to NATS {self.where} failed: {exc}") from None
            if ping:
                self._pings.sent(waiter)

    def subscribe(self, subject: str, queue: str = "") -> int:
        """Subscribe now and after every reconnection; the subscription's id."""
        try:
            sub = self._subs.add(subject, queue)
        except ValueError as exc:
            raise BrokerError(str(exc)) from None
        self._send(sub.frame())
        return sub.sid

    def unsubscribe(self, sid: int) -> None:
        if self._subs.remove(sid) and self.connected.is_set():
            self._send(proto.unsub_frame(sid))

    def publish(self, subject: str, payload: bytes, reply: str = "", headers: dict[str, list[str]] | None = None) -> None:
        """Hand one message to the connection (``BrokerError`` when it cannot be sent)."""
        limit = self.info.get("max_payload")
        if isinstance(limit, int) and len(payload) > limit:
            raise BrokerError(f"message of {len(payload)} bytes is over the server's max_payload of {limit}")
        if headers and not self.headers_supported:
            headers = None
        try:
            frame = proto.pub_frame(subject, payload, reply, headers)
        except ValueError as exc:
            raise BrokerError(str(exc)) from None
        self._send(frame)

    def flush(self, timeout: float) -> None:
        """Return once the server processed everything sent before (a ``PING`` answered)."""
        waiter: gevent.event.AsyncResult = gevent.event.AsyncResult()
        self._send(proto.ping_frame(), ping=True, waiter=waiter)
        try:
            waiter.get(timeout=timeout)
        except gevent.Timeout:
            raise BrokerError(f"NATS server {self.where} did not answer within {timeout:g}s") from None

    def close(self) -> None:
        self._closing = True
        for greenlet in (self._pinger, self._runner):
            if greenlet is not None:
                greenlet.kill(block=False)
        self._lost("closed")
