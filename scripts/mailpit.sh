#!/usr/bin/env bash
# mailpit.sh [start [SMTP_ADDR [UI_ADDR [DB_FILE]]]]: the mail catcher for
# development. Without arguments it builds mailpit, pinned in
# tools/mailpit/go.mod, into .bin/mailpit from the Go module proxy only (about
# 3.5 minutes the first time on 2 cores; later calls return at once).
#
# `start` also starts it in the background (SMTP on 127.0.0.1:1025, web UI and
# API on 127.0.0.1:8025, messages in .data/mailpit.db), waits until both
# answer and prints its PID. If a mailpit already answers on UI_ADDR it starts
# nothing and prints nothing.
#
# mailpit has its own module, not tools/go.mod: its requirements (tablewriter
# v1) would upgrade the Temporal CLI's, which then no longer compiles.
# The Go module holds no web UI bundle (it is built with npm, and not every
# version its lockfile names is on the npm registry we reach): the page at
# UI_ADDR stays blank, the API (/api/v1/messages) and SMTP work.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=${GOFLAGS:--buildvcs=false}
bin=.bin/mailpit
version=$(awk '$1 == "github.com/axllent/mailpit" { print $2 }' tools/mailpit/go.mod)

if ! { [ -x "$bin" ] && [ "$bin" -nt tools/mailpit/go.mod ] && [ "$bin" -nt tools/mailpit/go.sum ]; }; then
  mkdir -p .bin
  echo "mailpit: building $version from tools/mailpit/go.mod (first time: ~3.5 min)" >&2
  (cd tools/mailpit && go build -ldflags "-X github.com/axllent/mailpit/config.Version=$version" \
    -o ../../$bin github.com/axllent/mailpit)
fi

[ "${1:-}" = start ] || exit 0
smtp=${2:-127.0.0.1:1025}
ui=${3:-127.0.0.1:8025}
db=${4:-.data/mailpit.db}

if curl -fsS "http://$ui/readyz" >/dev/null 2>&1; then
  echo "mailpit: reusing the one already on $ui" >&2
  exit 0
fi
mkdir -p "$(dirname "$db")"
log=${MAILPIT_LOG:-$(dirname "$db")/mailpit.log}
# No version check (it would call GitHub) and no reverse DNS of SMTP clients.
"$bin" --smtp "$smtp" --listen "$ui" --database "$db" \
  --disable-version-check --smtp-disable-rdns >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 60); do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "mailpit: exited; its log ($log) ends with:" >&2
    tail -20 "$log" >&2
    exit 1
  fi
  if curl -fsS "http://$ui/readyz" >/dev/null 2>&1 &&
    (exec 3<>"/dev/tcp/${smtp%:*}/${smtp##*:}") 2>/dev/null; then
    echo "$pid"
    exit 0
  fi
  sleep 0.5
done
echo "mailpit: no answer on $ui and $smtp after 30s; see $log" >&2
kill "$pid" 2>/dev/null || true
exit 1
