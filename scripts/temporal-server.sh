#!/usr/bin/env bash
# temporal-server.sh: build the Temporal server and its SQL schema tool,
# pinned in tools/temporal-server/go.mod (go.temporal.io/server, the version
# the CLI in tools/go.mod embeds), into .bin/temporal-server and
# .bin/temporal-sql-tool, from the Go module proxy only. make load
# TEMPORAL=postgres runs them (scripts/temporal-postgres.sh). The first build
# takes several minutes on 2 cores; later calls return at once; it rebuilds
# when tools/temporal-server/go.mod or go.sum change. Not part of make test.
#
# The server has its own module, not tools/go.mod: its requirements would
# move the CLI's (and the reverse).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=${GOFLAGS:--buildvcs=false}
mod=tools/temporal-server
up_to_date() { [ -x "$1" ] && [ "$1" -nt $mod/go.mod ] && [ "$1" -nt $mod/go.sum ]; }
build() { # build BIN PACKAGE
  local bin=$1 pkg=$2
  up_to_date "$bin" && return 0
  mkdir -p .bin
  echo "temporal-server: building $pkg from $mod/go.mod (first time: several minutes)" >&2
  (cd $mod && go build -trimpath -o "../../$bin.new" "$pkg")
  mv -f "$bin.new" "$bin"
}
build .bin/temporal-server go.temporal.io/server/cmd/server
build .bin/temporal-sql-tool go.temporal.io/server/cmd/tools/sql
