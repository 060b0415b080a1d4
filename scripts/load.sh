#!/usr/bin/env bash
# load.sh (make load): dunning under load beside bare Temporal on the same
# server, in one run (internal/load; results in docs/PERFORMANCE.md). It
# starts its own dev server (gRPC :7270, headless, a fresh SQLite file in
# .data/load/), a fresh PostgreSQL database dunning_load, the worker and the
# API (:8190), and stops them at the end. Flags go to the driver:
#   make load ARGS='-n 2000'
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=${GOFLAGS:--buildvcs=false}
if [ "${TEMPORAL:-dev}" != dev ]; then
  echo "load: TEMPORAL=$TEMPORAL is not done yet: only the dev server (see docs/PERFORMANCE.md)" >&2
  exit 2
fi
scripts/ensure-postgres.sh
scripts/temporal-cli.sh
mkdir -p .bin
go build -o .bin/worker ./worker
go build -o .bin/starter ./starter
go build -o .bin/load ./cmd/load
exec .bin/load "$@"
