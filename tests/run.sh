#!/usr/bin/env bash
# The whole test suite, as the README's test command: makes a virtualenv (.venv, from the
# requirements files only, never the machine's site-packages), starts the local Apache Kafka
# (deploy/kafka/run.sh; jars fetched once from Maven Central), builds the Go Bloblang reference
# evaluator, installs the browser test's npm packages, then runs pytest inside the virtualenv.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

VENV="${STREAMS_VENV:-.venv}"
step "Python virtualenv $VENV (requirements-dev.txt)"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-dev.txt
export PATH="$PWD/$VENV/bin:$PATH"
export PYTHON="$PWD/$VENV/bin/python"

step "npm packages (tests/browser: playwright-core drives Debian's chromium, puppeteer-core its firefox-esr)"
# npm ci again only when the lockfile changed since the last install.
if [ ! -d tests/browser/node_modules/playwright-core ] || [ ! -d tests/browser/node_modules/puppeteer-core ] \
   || [ tests/browser/package-lock.json -nt tests/browser/node_modules/.package-lock.json ]; then
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi

step "Apache Kafka on 127.0.0.1:9093"
bash deploy/kafka/run.sh start

step "Bloblang reference evaluator (Go)"
bash tests/bloblang_ref/build.sh

step "pytest"
"$PYTHON" -m pytest "$@"
