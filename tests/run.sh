#!/usr/bin/env bash
# The whole test suite, as the README's test command: installs the Python dependencies, starts the
# local Apache Kafka (deploy/kafka/run.sh; jars fetched once from Maven Central), builds the Go
# Bloblang reference evaluator, then runs pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "Python dependencies"
python3 -m pip install -q -r requirements-dev.txt

step "Apache Kafka on 127.0.0.1:9093"
bash deploy/kafka/run.sh start

step "Bloblang reference evaluator (Go)"
bash tests/bloblang_ref/build.sh

step "pytest"
python3 -m pytest "$@"
