#!/usr/bin/env bash
# chaos.sh [flags]: make chaos (issue 9). Builds the Temporal CLI and the
# worker, then runs cmd/chaos: a burst of notices while the worker is killed
# twice, the Temporal dev server (on its SQLite file, port 7280) and a private
# PostgreSQL (port 5480, in a temporary directory) restart, and a mock
# provider answers 500 to 10% of calls and hangs on 1%. It prints
# "duplicates=0 lost=0 mismatched=0" or fails. Flags go to cmd/chaos
# (-loans N, -seed S, ...); logs stay in .data/chaos.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=${GOFLAGS:--buildvcs=false}
scripts/temporal-cli.sh
mkdir -p .bin .data
go build -o .bin/worker ./worker
go build -o .bin/chaos ./cmd/chaos
# The driver stops what it started when it ends or is interrupted; the trap
# passes an interrupt on to it.
.bin/chaos "$@" &
driver=$!
trap 'kill -TERM "$driver" 2>/dev/null || true; wait "$driver" 2>/dev/null || true' INT TERM
wait "$driver"
