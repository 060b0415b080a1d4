#!/usr/bin/env bash
# devserver.sh PORT UI_PORT [DB_FILE]: start the Temporal dev server in the
# background with dunning's search attributes, wait until it answers, and
# print its PID. Without DB_FILE the server keeps everything in memory (tests);
# with one, loans survive a restart (make run).
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:?port}
ui=${2:?ui port}
db=${3:-}
scripts/temporal-cli.sh
args=(server start-dev --ip 127.0.0.1 --port "$port" --ui-port "$ui" --namespace default --log-level warn
  --search-attribute LoanId=Keyword --search-attribute CustomerId=Keyword --search-attribute LoanState=Keyword
  --search-attribute DaysPastDue=Int --search-attribute DelinquencyBucket=Keyword
  --search-attribute OutstandingTotal=Double --search-attribute NextReminderAt=Datetime)
if [ -n "$db" ]; then
  mkdir -p "$(dirname "$db")"
  args+=(--db-filename "$db")
fi
if [ "$ui" = "0" ]; then args+=(--headless); fi
# The Web UI decrypts payloads through a codec server (make run: the API's /codec).
if [ -n "${UI_CODEC_ENDPOINT:-}" ]; then args+=(--ui-codec-endpoint "$UI_CODEC_ENDPOINT"); fi
log=${DEVSERVER_LOG:-.data/temporal-$port.log}
mkdir -p "$(dirname "$log")"
.bin/temporal "${args[@]}" >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "devserver: the Temporal dev server exited; its log ($log) ends with:" >&2
    tail -20 "$log" >&2
    exit 1
  fi
  if .bin/temporal operator cluster health --address "127.0.0.1:$port" >/dev/null 2>&1; then
    echo "$pid"
    exit 0
  fi
  sleep 0.5
done
echo "devserver: no answer on 127.0.0.1:$port after 60s; see $log" >&2
kill "$pid" 2>/dev/null || true
exit 1
