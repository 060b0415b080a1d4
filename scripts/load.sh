#!/usr/bin/env bash
# load.sh (make load): dunning under load beside bare Temporal on the same
# server, in one run (internal/load; results in docs/PERFORMANCE.md). It
# starts its own dev server (gRPC :7270, headless, a fresh SQLite file in
# .data/load/), a fresh PostgreSQL database dunning_load, the worker and the
# API (:8190), and stops them at the end. Flags go to the driver:
#   make load ARGS='-n 2000'
# TEMPORAL=postgres runs the same driver against a Temporal server built from
# go.temporal.io/server (tools/temporal-server) on PostgreSQL with
# TEMPORAL_SHARDS history shards (default 4), gRPC :7290, fresh databases
# temporal_load and temporal_load_visibility (scripts/temporal-postgres.sh),
# and stops it at the end:
#   make load TEMPORAL=postgres ARGS='-n 200'
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=${GOFLAGS:--buildvcs=false}
temporal=${TEMPORAL:-dev}
case $temporal in
  dev | postgres) ;;
  *) echo "load: TEMPORAL=$temporal: want dev (the CLI's dev server on SQLite) or postgres (our server on PostgreSQL)" >&2; exit 2 ;;
esac
scripts/ensure-postgres.sh
scripts/temporal-cli.sh
mkdir -p .bin
go build -o .bin/worker ./worker
go build -o .bin/starter ./starter
go build -o .bin/load ./cmd/load
if [ "$temporal" = dev ]; then
  exec .bin/load "$@"
fi
trap 'scripts/temporal-postgres.sh stop' EXIT
addr=$(scripts/temporal-postgres.sh start)
.bin/load -temporal "$addr" "$@"
