"""Real message brokers started by the tests: Debian's ``mosquitto`` (MQTT),
``rabbitmq-server`` (AMQP 0-9-1, and 1.0 through its plugin) and ``nats-server``, and ActiveMQ
Artemis (AMQP 1.0), each on free loopback ports with its files in a temporary directory, never as
a system service. ``.ci/run`` installs the packages when missing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.server import free_port
from tests.tls_certs import Certificates


def wait_for_port(port: int, process: subprocess.Popen, log: Path, deadline_s: float) -> None:
    """Until something accepts on 127.0.0.1:port; raises with the broker's log when it exits."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"broker exited with {process.returncode}:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"broker did not listen on {port}:\n{log.read_text(errors='replace')[-3000:]}")


def need(program: str, package: str) -> str:
    path = shutil.which(program) or next(
        (p for p in (f"/usr/sbin/{program}", f"/usr/lib/rabbitmq/bin/{program}") if os.path.exists(p)), None
    )
    if path is None:
        raise RuntimeError(f"{program} is not installed: apt-get install {package} (.ci/run does)")
    return path


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


MQTT_USER = ("gateway", "s3cret")
"""The one user of the mosquitto listener that requires a password."""


@dataclass
class Mosquitto:
    """A mosquitto of the test run: anonymous clients on ``port``, only ``MQTT_USER`` on
    ``auth_port``, anonymous MQTT over WebSocket on ``ws_port`` (``start_mosquitto(websockets=True)``);
    in-memory sessions."""

    process: subprocess.Popen
    port: int
    log: Path
    auth_port: int = 0
    ws_port: int = 0

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    @property
    def auth_url(self) -> str:
        return f"tcp://127.0.0.1:{self.auth_port}"

    def stop(self) -> None:
        stop_process(self.process)


def start_mosquitto(directory: Path, websockets: bool = False) -> Mosquitto:
    binary = need("mosquitto", "mosquitto")
    directory.mkdir(parents=True, exist_ok=True)
    port, auth_port = free_port(), free_port()
    ws_port = free_port() if websockets else 0
    passwords = directory / "passwords"
    passwords.write_text("")
    subprocess.run([need("mosquitto_passwd", "mosquitto"), "-b", str(passwords), *MQTT_USER], check=True, timeout=30)
    process, log = _run_mosquitto(
        binary,
        directory,
        "max_queued_messages 10000\n"
        f"listener {port} 127.0.0.1\nallow_anonymous true\n"
        f"listener {auth_port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n"
        + (f"listener {ws_port} 127.0.0.1\nprotocol websockets\nallow_anonymous true\n" if websockets else ""),
        (port, auth_port, ws_port),
    )
    return Mosquitto(process, port, log, auth_port, ws_port)


def _run_mosquitto(binary: str, directory: Path, listeners: str, ports: tuple[int, ...]) -> tuple[subprocess.Popen, Path]:
    """Start mosquitto on ``listeners`` (its config lines) and wait for every non-zero port."""
    conf, log = directory / "mosquitto.conf", directory / "mosquitto.log"
    conf.write_text(
        # run as root (in CI) it keeps root instead of switching to a user who cannot read the
        # test's private directory; run as anyone else the line is ignored
        "user root\nper_listener_settings true\npersistence false\n"
        "log_dest stdout\nlog_type error\nlog_type warning\nlog_type notice\n" + listeners
    )
    with open(log, "wb") as out:
        process = subprocess.Popen([binary, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
    for listening in ports:
        if listening:
            wait_for_port(listening, process, log, 30)
    return process, log


@dataclass
class RabbitMQ:
    """A RabbitMQ node of the test run: AMQP on ``port``, its own Erlang distribution and epmd
    ports, node name, cookie (``HOME``), data and log directories; the ``guest`` user."""

    process: subprocess.Popen
    port: int
    epmd_port: int
    log: Path
    tls_port: int = 0
    """The TLS listener (``start_rabbitmq(tls=...)``): it requires a client certificate signed by
    the test CA, and takes SASL EXTERNAL with the certificate's common name as the user."""

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def tls_url(self) -> str:
        return f"amqps://guest:guest@127.0.0.1:{self.tls_port}/"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        # The node started its own epmd on a private port; it outlives the node unless told.
        subprocess.run(["epmd", "-kill"], env={**os.environ, "ERL_EPMD_PORT": str(self.epmd_port)},
                       capture_output=True, timeout=10, check=False)


CERT_USER = "streams test client"
"""The user RabbitMQ's TLS listener knows by the test client certificate's common name."""


def _password_hash(password: str) -> str:
    """RabbitMQ's stored password form (rabbit_password_hashing_sha256): salt then digest."""
    salt = os.urandom(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def _tls_config(directory: Path, certs: Certificates, tls_port: int) -> str:
    """rabbitmq.conf lines of a TLS listener that requires a client certificate, EXTERNAL login
    by its common name, and the users (``guest`` and ``CERT_USER``) loaded as definitions."""
    users = [{"name": "guest", "password_hash": _password_hash("guest"), "tags": ["administrator"]},
             {"name": CERT_USER, "password_hash": "", "tags": []}]
    definitions = {
        "users": [{**u, "hashing_algorithm": "rabbit_password_hashing_sha256"} for u in users],
        "vhosts": [{"name": "/"}],
        "permissions": [{"user": u["name"], "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"} for u in users],
    }
    (directory / "definitions.json").write_text(json.dumps(definitions))
    return (
        f"listeners.ssl.1 = 127.0.0.1:{tls_port}\n"
        f"ssl_options.cacertfile = {certs.ca}\nssl_options.certfile = {certs.server_cert}\n"
        f"ssl_options.keyfile = {certs.server_key}\n"
        "ssl_options.verify = verify_peer\nssl_options.fail_if_no_peer_cert = true\n"
        "auth_mechanisms.1 = PLAIN\nauth_mechanisms.2 = AMQPLAIN\nauth_mechanisms.3 = EXTERNAL\n"
        "ssl_cert_login_from = common_name\n"
        f"load_definitions = {directory / 'definitions.json'}\n"
    )


def start_rabbitmq(directory: Path, *, amqp1: bool = False, tls: Certificates | None = None) -> RabbitMQ:
    """``rabbitmq-server`` (Debian) run directly, not as the system service, in its own process
    group; returns once it accepts AMQP connections (a few seconds). ``amqp1`` turns on its
    AMQP 1.0 plugin (RabbitMQ 3 speaks 1.0 only through it). ``tls`` adds a TLS listener with
    these certificates (``RabbitMQ.tls_port``)."""
    binary = need("rabbitmq-server", "rabbitmq-server")
    if binary == "/usr/sbin/rabbitmq-server" and os.path.exists("/usr/lib/rabbitmq/bin/rabbitmq-server"):
        binary = "/usr/lib/rabbitmq/bin/rabbitmq-server"  # the wrapper would switch to the system user
    directory.mkdir(parents=True, exist_ok=True)
    port, dist_port, epmd_port = free_port(), free_port(), free_port()
    plugins = ["rabbitmq_amqp1_0"] * amqp1 + ["rabbitmq_auth_mechanism_ssl"] * (tls is not None)
    (directory / "enabled_plugins").write_text(f"[{','.join(plugins)}].\n")
    tls_port = free_port() if tls else 0
    if tls:
        (directory / "rabbitmq.conf").write_text(_tls_config(directory, tls, tls_port))
    log = directory / "rabbitmq.log"
    env = {
        **os.environ,
        "HOME": str(directory),  # the Erlang cookie lives there
        "RABBITMQ_NODENAME": f"test{port}@localhost",
        "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
        "RABBITMQ_NODE_PORT": str(port),
        "RABBITMQ_DIST_PORT": str(dist_port),
        "ERL_EPMD_PORT": str(epmd_port),
        "RABBITMQ_MNESIA_BASE": str(directory / "mnesia"),
        "RABBITMQ_LOG_BASE": str(directory / "log"),
        "RABBITMQ_LOGS": "-",
        "RABBITMQ_ENABLED_PLUGINS_FILE": str(directory / "enabled_plugins"),
        "RABBITMQ_PID_FILE": str(directory / "rabbitmq.pid"),
        "RABBITMQ_CONFIG_FILE": str(directory / "rabbitmq"),
        "RABBITMQ_ADVANCED_CONFIG_FILE": str(directory / "advanced.config"),
    }
    with open(log, "wb") as out:
        process = subprocess.Popen([binary], stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    broker = RabbitMQ(process, port, epmd_port, log, tls_port)
    try:
        wait_for_port(port, process, log, 90)
        if tls_port:
            wait_for_port(tls_port, process, log, 30)
    except RuntimeError:
        broker.stop()
        raise
    return broker


ARTEMIS_FETCH = Path(__file__).resolve().parents[1] / "deploy" / "artemis" / "fetch.sh"
ANYCAST_DEFAULTS = (
    "<default-address-routing-type>ANYCAST</default-address-routing-type>"
    "<default-queue-routing-type>ANYCAST</default-queue-routing-type>"
)


@dataclass
class Artemis:
    """An ActiveMQ Artemis broker instance of the test run: one acceptor (AMQP among its
    protocols) on ``port``, user ``admin``/``admin``, anonymous clients allowed (wrong
    credentials refused), and addresses
    made on first use as queues (anycast), so a message sent before any receiver waits for one."""

    process: subprocess.Popen
    port: int
    log: Path
    short_idle_port: int = 0
    """A second AMQP acceptor whose connections the broker closes after 2 s without a frame."""

    @property
    def url(self) -> str:
        return f"amqp://127.0.0.1:{self.port}"

    @property
    def short_idle_url(self) -> str:
        return f"amqp://127.0.0.1:{self.short_idle_port}"

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def start_artemis(directory: Path) -> Artemis:
    """Artemis from Maven Central (``deploy/artemis/fetch.sh``, cached), a broker instance made
    in ``directory`` and run in the foreground in its own process group (a few seconds)."""
    fetched = subprocess.run(["bash", str(ARTEMIS_FETCH)], capture_output=True, text=True, timeout=600, check=False)
    if fetched.returncode != 0:
        raise RuntimeError(f"fetching Artemis failed:\n{fetched.stderr[-3000:]}")
    artemis_home = Path(fetched.stdout.strip().splitlines()[-1])
    instance = directory / "broker"
    port = free_port()
    subprocess.run(
        [str(artemis_home / "bin" / "artemis"), "create", str(instance), "--user", "admin", "--password", "admin",
         "--allow-anonymous", "--silent", "--no-web", "--no-autotune", "--no-hornetq-acceptor",
         "--no-mqtt-acceptor", "--no-stomp-acceptor", "--no-amqp-acceptor", "--default-port", str(port),
         "--host", "127.0.0.1", "--name", f"test{port}"],
        check=True, capture_output=True, timeout=120,
    )
    short_idle_port = free_port()
    broker_xml = instance / "etc" / "broker.xml"
    text = broker_xml.read_text().replace('<address-setting match="#">', '<address-setting match="#">' + ANYCAST_DEFAULTS, 1)
    short_idle = f'<acceptor name="short-idle">tcp://127.0.0.1:{short_idle_port}?protocols=AMQP;amqpIdleTimeout=2000</acceptor>'
    broker_xml.write_text(text.replace("</acceptors>", short_idle + "</acceptors>", 1))
    # Anonymous clients stay welcome, but wrong credentials are refused instead of falling back
    # to the guest login.
    login = instance / "etc" / "login.config"
    login.write_text(login.read_text().replace("GuestLoginModule sufficient", "GuestLoginModule sufficient\n       credentialsInvalidate=true"))
    log = directory / "artemis.log"
    env = {**os.environ, "JAVA_ARGS": "-Xms64M -Xmx512M -XX:+UseSerialGC --add-opens java.base/jdk.internal.misc=ALL-UNNAMED"}
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(instance / "bin" / "artemis"), "run"], stdout=out, stderr=subprocess.STDOUT, env=env,
            start_new_session=True,
        )
    broker = Artemis(process, port, log, short_idle_port)
    try:
        wait_for_port(port, process, log, 120)
    except RuntimeError:
        broker.stop()
        raise
    return broker


@contextmanager
def nats_server(*options: str, port: int = 0) -> Iterator[str]:
    """A ``nats-server`` on ``port`` (a free one by default) for the duration, with extra command
    line ``options`` (``--user``/``--pass``, ``--auth``); yields its ``nats://`` URL."""
    binary = need("nats-server", "nats-server")
    port = port or free_port()
    process = subprocess.Popen(
        [binary, "-a", "127.0.0.1", "-p", str(port), *options], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "nats-server did not start"
                time.sleep(0.05)
        yield f"nats://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def nats_publish(url: str, subject: str, payloads: list[bytes]) -> None:
    """Publish ``payloads`` to ``subject`` and return once the server has processed them all."""
    host, _, port = url.removeprefix("nats://").rpartition(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"INFO "), "not a NATS server"
        out = b'CONNECT {"verbose":false,"pedantic":false}\r\n'
        for payload in payloads:
            out += b"PUB %s %d\r\n%s\r\n" % (subject.encode(), len(payload), payload)
        sock.sendall(out + b"PING\r\n")
        # The server answers PING after everything sent before it, so PONG means all published.
        assert reader.readline() == b"PONG\r\n"


@dataclass
class MosquittoTls:
    """A mosquitto with two TLS listeners (certificates from ``tests.tls_certs``): anonymous
    clients on ``port``; on ``mutual_port`` only clients with a certificate the CA signed; anonymous
    MQTT over a TLS WebSocket on ``wss_port`` (``start_mosquitto_tls(websockets=True)``)."""

    process: subprocess.Popen
    port: int
    mutual_port: int
    log: Path
    wss_port: int = 0

    def stop(self) -> None:
        stop_process(self.process)


def start_mosquitto_tls(directory: Path, ca: Path, cert: Path, key: Path, websockets: bool = False) -> MosquittoTls:
    binary = need("mosquitto", "mosquitto")
    directory.mkdir(parents=True, exist_ok=True)
    port, mutual_port = free_port(), free_port()
    wss_port = free_port() if websockets else 0
    listener = f"allow_anonymous true\ncafile {ca}\ncertfile {cert}\nkeyfile {key}\n"
    process, log = _run_mosquitto(
        binary,
        directory,
        f"listener {port} 127.0.0.1\n{listener}"
        f"listener {mutual_port} 127.0.0.1\n{listener}require_certificate true\n"
        + (f"listener {wss_port} 127.0.0.1\nprotocol websockets\n{listener}" if websockets else ""),
        (port, mutual_port, wss_port),
    )
    return MosquittoTls(process, port, mutual_port, log, wss_port)
