#!/usr/bin/env bash
# Fetch ActiveMQ Artemis (the AMQP 1.0 broker of the amqp_1 tests) from Maven Central once, into
# deploy/artemis/.cache/ (git-ignored), and print the directory of the unpacked distribution.
# Nothing is installed or started here: the tests create and run a private broker instance.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
VERSION="${ARTEMIS_VERSION:-2.40.0}"
CACHE="$HERE/.cache"
HOME_DIR="$CACHE/apache-artemis-$VERSION"
if [ ! -x "$HOME_DIR/bin/artemis" ]; then
    command -v mvn >/dev/null || { echo "mvn not found (Maven fetches Artemis once)" >&2; exit 1; }
    mkdir -p "$CACHE"
    if ! mvn -q -B -Dmaven.repo.local="$CACHE/m2" dependency:copy \
        -Dartifact="org.apache.activemq:apache-artemis:$VERSION:tar.gz:bin" \
        -DoutputDirectory="$CACHE" >"$CACHE/mvn.log" 2>&1; then
        tail -n 30 "$CACHE/mvn.log" >&2
        echo "Maven could not fetch apache-artemis $VERSION (log: $CACHE/mvn.log)" >&2
        exit 1
    fi
    tar -xzf "$CACHE/apache-artemis-$VERSION-bin.tar.gz" -C "$CACHE"
    rm -f "$CACHE/apache-artemis-$VERSION-bin.tar.gz"
fi
echo "$HOME_DIR"
