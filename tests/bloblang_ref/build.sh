#!/bin/sh
# Build the Benthos Bloblang reference evaluator used by tests/differential and bench/bloblang.py.
# Idempotent: `go build` only relinks when something changed. Modules come through the ordinary Go
# module cache (~/go/pkg/mod) and are checked against go.sum.
set -eu
cd "$(dirname "$0")"
exec go build -o bloblang-ref .
