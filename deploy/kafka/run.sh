#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, combined broker+controller) for development and tests.
#
#   deploy/kafka/run.sh start    fetch jars once, format storage once, start, wait until it answers
#   deploy/kafka/run.sh stop     stop it and wait until the process is gone
#   deploy/kafka/run.sh status   exit 0 when running and answering, 3 otherwise
#
# The jars come from Maven Central (pom.xml beside this file) into deploy/kafka/.cache/, so no
# binary tarball is needed. Every command is idempotent: several engineers (and CI) share one
# broker per machine, found through the pid file in the data dir.
#
# Environment:
#   KAFKA_VERSION          org.apache.kafka:kafka_2.13 version            (default 4.1.1)
#   KAFKA_PORT             PLAINTEXT listener on 127.0.0.1               (default 9093)
#   KAFKA_CONTROLLER_PORT  KRaft controller listener on 127.0.0.1        (default KAFKA_PORT+1)
#   KAFKA_DATA_DIR         storage, config, log and pid file             (default deploy/kafka/data)
#   KAFKA_HEAP_OPTS        JVM heap                                      (default -Xmx512m -Xms128m)
#   KAFKA_START_TIMEOUT    seconds to wait for the broker to answer      (default 90)
#   PYTHON                 interpreter with kafka-python for the readiness probe (default python3)
#   KAFKA_SECURITY         plaintext (default) or sasl_ssl: the client listener on KAFKA_PORT is then
#                          SASL_SSL only (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER with
#                          unsecured tokens) with a throwaway CA and broker certificate made in
#                          $KAFKA_DATA_DIR/tls/ (ca.pem is the file clients trust; client.pem and
#                          client.key are a client certificate it signed) and the users
#                          listed in $KAFKA_DATA_DIR/users.txt (admin, alice). The mode is kept in
#                          $KAFKA_DATA_DIR/security (SCRAM users are stored when the storage is
#                          formatted): later commands on that data dir use it when KAFKA_SECURITY is
#                          unset, and refuse the other mode. The controller listener stays PLAINTEXT.
#   KAFKA_TLS_CLIENT_AUTH  with sasl_ssl: none (default), requested or required (mutual TLS: clients
#                          must also present a certificate the CA signed)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
KAFKA_PORT="${KAFKA_PORT:-9093}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-$HERE/data}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx512m -Xms128m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
PYTHON="${PYTHON:-python3}"
MODE_FILE="$KAFKA_DATA_DIR/security"
if [[ -z "${KAFKA_SECURITY:-}" && -s "$MODE_FILE" ]]; then KAFKA_SECURITY="$(cat "$MODE_FILE")"; fi
KAFKA_SECURITY="${KAFKA_SECURITY:-plaintext}"
KAFKA_TLS_CLIENT_AUTH="${KAFKA_TLS_CLIENT_AUTH:-none}"

CACHE="$HERE/.cache"
CLASSPATH_FILE="$CACHE/classpath-$KAFKA_VERSION.txt"
PID_FILE="$KAFKA_DATA_DIR/kafka.pid"
LOG_FILE="$KAFKA_DATA_DIR/kafka.log"
PROPS="$KAFKA_DATA_DIR/server.properties"
LOG4J="$KAFKA_DATA_DIR/log4j2.properties"
LOG_DIRS="$KAFKA_DATA_DIR/logs"
BOOTSTRAP="127.0.0.1:$KAFKA_PORT"
TLS_DIR="$KAFKA_DATA_DIR/tls"
CA_FILE="$TLS_DIR/ca.pem"
USERS_FILE="$KAFKA_DATA_DIR/users.txt"
# Throwaway credentials of a test broker (never a production one): "name password" per entry.
SASL_USERS=("admin admin-secret" "alice alice-secret")
STORE_PASSWORD="streams-test-store"

say() { echo "kafka: $*" >&2; }
die() { say "ERROR: $*"; exit 1; }

[[ "$KAFKA_PORT" != "$KAFKA_CONTROLLER_PORT" ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT are both $KAFKA_PORT"
case "$KAFKA_SECURITY" in
    plaintext | sasl_ssl) ;;
    *) die "KAFKA_SECURITY=$KAFKA_SECURITY: expected plaintext or sasl_ssl" ;;
esac
case "$KAFKA_TLS_CLIENT_AUTH" in
    none | requested | required) ;;
    *) die "KAFKA_TLS_CLIENT_AUTH=$KAFKA_TLS_CLIENT_AUTH: expected none, requested or required" ;;
esac

# The pid from the pid file, only if that process is alive and really is our broker (pids get reused).
running_pid() {
    [[ -f "$PID_FILE" ]] || return 1
    local pid
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [[ -r "/proc/$pid/cmdline" ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'kafka\.Kafka' || return 1
    echo "$pid"
}

# True when a Kafka broker on $BOOTSTRAP answers a metadata request and lists itself. Without
# kafka-python (run.sh used before the Python deps are installed) an open port has to do.
answers() {
    if ! "$PYTHON" -c 'import kafka' >/dev/null 2>&1; then
        port_open "$KAFKA_PORT"
        return
    fi
    "$PYTHON" - "$BOOTSTRAP" "$KAFKA_SECURITY" "$CA_FILE" "$TLS_DIR" <<'PY' >/dev/null 2>&1
import sys
from kafka import KafkaAdminClient
secure = {}
if sys.argv[2] == "sasl_ssl":
    secure = {"security_protocol": "SASL_SSL", "ssl_cafile": sys.argv[3], "sasl_mechanism": "PLAIN",
              "sasl_plain_username": "admin", "sasl_plain_password": "admin-secret",
              "ssl_certfile": sys.argv[4] + "/client.pem", "ssl_keyfile": sys.argv[4] + "/client.key"}
admin = KafkaAdminClient(bootstrap_servers=sys.argv[1], request_timeout_ms=3000,
                         bootstrap_timeout_ms=3000, client_id="run.sh-probe", **secure)
try:
    brokers = admin.describe_cluster().get("brokers") or []
    sys.exit(0 if brokers else 1)
finally:
    admin.close()
PY
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

fetch_jars() {
    if [[ -s "$CLASSPATH_FILE" ]]; then
        local missing=0 jar
        while IFS= read -r jar; do [[ -f "$jar" ]] || missing=1; done < <(tr ':' '\n' <"$CLASSPATH_FILE")
        [[ $missing == 0 ]] && return 0
        say "cached classpath lists missing jars; fetching again"
    fi
    command -v mvn >/dev/null || die "mvn not found (Maven is needed once to fetch the Kafka jars)"
    mkdir -p "$CACHE"
    say "fetching org.apache.kafka:kafka_2.13:$KAFKA_VERSION and its runtime dependencies from Maven Central (once) ..."
    local started=$SECONDS
    if ! mvn -q -B -f "$HERE/pom.xml" \
        -Dmaven.repo.local="$CACHE/m2" \
        -Dkafka.version="$KAFKA_VERSION" \
        -Dmdep.includeScope=runtime \
        -Dmdep.outputFile="$CLASSPATH_FILE.tmp" \
        dependency:build-classpath >"$CACHE/mvn.log" 2>&1; then
        tail -n 30 "$CACHE/mvn.log" >&2
        die "Maven could not resolve kafka_2.13:$KAFKA_VERSION (full log: $CACHE/mvn.log)"
    fi
    mv "$CLASSPATH_FILE.tmp" "$CLASSPATH_FILE"
    say "jars fetched in $((SECONDS - started)) s ($(du -sh "$CACHE/m2" | cut -f1) in $CACHE/m2)"
}

# The client listener's lines of server.properties, for the chosen KAFKA_SECURITY.
listener_config() {
    if [[ "$KAFKA_SECURITY" == plaintext ]]; then
        cat <<EOF
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
EOF
        return
    fi
    local plain_users="" entry name password
    for entry in "${SASL_USERS[@]}"; do
        read -r name password <<<"$entry"
        plain_users+=" user_$name=\"$password\""
    done
    cat <<EOF
listeners=SASL_SSL://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=SASL_SSL://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=SASL_SSL
listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER
sasl.mechanism.inter.broker.protocol=PLAIN
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret"$plain_users;
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.oauthbearer.sasl.jaas.config=org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="admin";
ssl.keystore.type=PKCS12
ssl.keystore.location=$TLS_DIR/broker.p12
ssl.keystore.password=$STORE_PASSWORD
ssl.key.password=$STORE_PASSWORD
ssl.truststore.type=PKCS12
ssl.truststore.location=$TLS_DIR/truststore.p12
ssl.truststore.password=$STORE_PASSWORD
# SASL_SSL listeners take client authentication from the listener-prefixed setting only.
listener.name.sasl_ssl.ssl.client.auth=$KAFKA_TLS_CLIENT_AUTH
EOF
}

# A throwaway CA and a broker certificate for 127.0.0.1/localhost signed by it (made once per
# data dir): PKCS12 stores for the broker, ca.pem for clients.
make_tls() {
    [[ -f "$TLS_DIR/broker.p12" && -f "$TLS_DIR/truststore.p12" && -f "$CA_FILE" && -f "$TLS_DIR/client.pem" ]] && return 0
    command -v openssl >/dev/null || die "openssl not found (needed for KAFKA_SECURITY=sasl_ssl)"
    command -v keytool >/dev/null || die "keytool not found (needed for KAFKA_SECURITY=sasl_ssl)"
    mkdir -p "$TLS_DIR"
    say "making a throwaway CA and broker certificate in $TLS_DIR"
    (
        cd "$TLS_DIR"
        rm -f ./*.p12
        openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=streams test CA" \
            -keyout ca.key -out ca.pem
        openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout broker.key -out broker.csr
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n' >broker.ext
        openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
            -extfile broker.ext -out broker.pem
        openssl req -newkey rsa:2048 -nodes -subj "/CN=streams-client" -keyout client.key -out client.csr
        printf 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n' >client.ext
        openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
            -extfile client.ext -out client.pem
        openssl pkcs12 -export -in broker.pem -inkey broker.key -certfile ca.pem -name broker \
            -passout "pass:$STORE_PASSWORD" -out broker.p12
        keytool -importcert -noprompt -alias ca -file ca.pem -storetype PKCS12 \
            -keystore truststore.p12 -storepass "$STORE_PASSWORD"
    ) >>"$KAFKA_DATA_DIR/tls.log" 2>&1 || { tail -n 20 "$KAFKA_DATA_DIR/tls.log" >&2; die "certificate generation failed"; }
}

# StorageTool's --add-scram arguments, one per line: every user under both SCRAM mechanisms.
scram_args() {
    [[ "$KAFKA_SECURITY" == sasl_ssl ]] || return 0
    local entry name password mech
    for entry in "${SASL_USERS[@]}"; do
        read -r name password <<<"$entry"
        for mech in SCRAM-SHA-256 SCRAM-SHA-512; do
            printf '%s\n' "--add-scram" "$mech=[name=$name,password=$password]"
        done
    done
}

write_users() {
    [[ "$KAFKA_SECURITY" == sasl_ssl ]] || return 0
    {
        echo "# SASL_SSL on $BOOTSTRAP; clients trust $CA_FILE"
        echo "# user password (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512; OAUTHBEARER takes any unsecured JWT)"
        printf '%s\n' "${SASL_USERS[@]}"
    } >"$USERS_FILE"
    say "SASL_SSL listener (client certificates: $KAFKA_TLS_CLIENT_AUTH); CA file: $CA_FILE; client certificate: $TLS_DIR/client.pem (key client.key); users (PLAIN, SCRAM-SHA-256/512): ${SASL_USERS[*]} (also in $USERS_FILE)"
}

write_config() {
    mkdir -p "$KAFKA_DATA_DIR" "$LOG_DIRS"
    if [[ "$KAFKA_SECURITY" == sasl_ssl ]]; then make_tls; fi
    cat >"$PROPS" <<EOF
# Generated by deploy/kafka/run.sh; edits are overwritten on the next start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
$(listener_config)
log.dirs=$LOG_DIRS
auto.create.topics.enable=true
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
# A shared 2-core machine: few threads.
num.network.threads=2
num.io.threads=4
background.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
EOF
    cat >"$LOG4J" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = STDOUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
logger.controller.name = org.apache.kafka.controller
logger.controller.level = INFO
logger.raft.name = org.apache.kafka.raft
logger.raft.level = WARN
logger.log.name = org.apache.kafka.storage
logger.log.level = WARN
logger.unified.name = kafka.log
logger.unified.level = WARN
EOF
}

# java_cmd [setsid] CLASS ARGS...: the JVM with Kafka's classpath (setsid first detaches it).
java_cmd() {
    local prefix=()
    if [[ "${1:-}" == setsid ]]; then prefix=(setsid); shift; fi
    # shellcheck disable=SC2086  # KAFKA_HEAP_OPTS is a list of JVM flags
    exec "${prefix[@]}" java $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -Djava.awt.headless=true -Dlog4j2.configurationFile="$LOG4J" \
        -Dkafka.logs.dir="$KAFKA_DATA_DIR" -cp "$(cat "$CLASSPATH_FILE")" "$@"
}

format_storage() {
    if [[ -f "$LOG_DIRS/meta.properties" ]]; then
        local formatted
        formatted="$(cat "$MODE_FILE" 2>/dev/null || echo plaintext)"
        [[ "$formatted" == "$KAFKA_SECURITY" ]] \
            || die "$KAFKA_DATA_DIR was formatted for KAFKA_SECURITY=$formatted; use another KAFKA_DATA_DIR for $KAFKA_SECURITY"
        return 0
    fi
    local cluster_id
    local out="$KAFKA_DATA_DIR/random-uuid.out"
    if ! (java_cmd kafka.tools.StorageTool random-uuid) >"$out" 2>>"$LOG_FILE" \
        || ! cluster_id="$(tail -n 1 "$out")" || [[ -z "$cluster_id" ]]; then
        cat "$out" >>"$LOG_FILE"
        tail -n 20 "$LOG_FILE" >&2
        die "java could not run Kafka's StorageTool (log above, full log: $LOG_FILE)"
    fi
    say "formatting storage in $LOG_DIRS (cluster $cluster_id)"
    local scram=()
    mapfile -t scram < <(scram_args)
    (java_cmd kafka.tools.StorageTool format -t "$cluster_id" -c "$PROPS" "${scram[@]}") >>"$LOG_FILE" 2>&1 \
        || { tail -n 20 "$LOG_FILE" >&2; die "storage format failed"; }
    echo "$KAFKA_SECURITY" >"$MODE_FILE"
}

cmd_start() {
    local pid
    if pid="$(running_pid)"; then
        if answers; then say "already running (pid $pid) on $BOOTSTRAP"; return 0; fi
        say "pid $pid is starting; waiting for it to answer"
    else
        if port_open "$KAFKA_PORT"; then
            answers && { say "a Kafka not started by this script already answers on $BOOTSTRAP; using it"; return 0; }
            die "port $KAFKA_PORT is taken by something that is not Kafka"
        fi
        port_open "$KAFKA_CONTROLLER_PORT" && die "controller port $KAFKA_CONTROLLER_PORT is taken"
        command -v java >/dev/null || die "java not found (Kafka $KAFKA_VERSION needs Java 17+)"
        fetch_jars
        write_config
        : >"$LOG_FILE"
        format_storage
        write_users
        say "starting Kafka $KAFKA_VERSION on $BOOTSTRAP (log: $LOG_FILE)"
        # A background subshell that execs (setsid then) java: $! is the JVM's own pid, and the
        # broker leaves this shell's session, so a Ctrl-C here does not reach it.
        (java_cmd setsid kafka.Kafka "$PROPS") </dev/null >>"$LOG_FILE" 2>&1 &
        pid=$!
        echo "$pid" >"$PID_FILE"
    fi
    local started=$SECONDS
    while ((SECONDS - started < KAFKA_START_TIMEOUT)); do
        # kill -0, not running_pid: until the subshell has exec'd java its command line is bash's.
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 40 "$LOG_FILE" >&2
            rm -f "$PID_FILE"
            die "Kafka exited during start-up (log above, full log: $LOG_FILE)"
        fi
        if answers; then
            say "ready on $BOOTSTRAP after $((SECONDS - started)) s (pid $pid)"
            return 0
        fi
        sleep 1
    done
    tail -n 40 "$LOG_FILE" >&2
    die "Kafka did not answer on $BOOTSTRAP within $KAFKA_START_TIMEOUT s (still running as pid $pid; log: $LOG_FILE)"
}

cmd_stop() {
    local pid
    if ! pid="$(running_pid)"; then
        say "not running"
        rm -f "$PID_FILE"
        return 0
    fi
    say "stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    local started=$SECONDS
    while kill -0 "$pid" 2>/dev/null; do
        if ((SECONDS - started >= 60)); then
            say "still alive after 60 s; killing"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        sleep 0.5
    done
    rm -f "$PID_FILE"
    say "stopped"
}

cmd_status() {
    local pid
    if pid="$(running_pid)"; then
        if answers; then say "running (pid $pid), answering on $BOOTSTRAP"; return 0; fi
        say "running (pid $pid) but not answering on $BOOTSTRAP"; return 3
    fi
    say "not running"
    return 3
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
