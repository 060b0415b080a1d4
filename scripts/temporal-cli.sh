#!/usr/bin/env bash
# temporal-cli.sh: build the Temporal CLI (dev server + Web UI) pinned in
# tools/go.mod into .bin/temporal, from the Go module proxy only. The first
# build takes about 5 minutes on 2 cores; later calls return at once.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.bin/temporal
if [ -x "$bin" ] && [ "$bin" -nt tools/go.mod ] && [ "$bin" -nt tools/go.sum ]; then
  exit 0
fi
mkdir -p .bin
echo "temporal-cli: building the Temporal CLI from tools/go.mod (first time: ~5 min)" >&2
(cd tools && go build -o ../$bin github.com/temporalio/cli/cmd/temporal)
