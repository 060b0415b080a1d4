#!/usr/bin/env bash
# run.sh (make run): dunning on this machine with a demo. Ensures PostgreSQL,
# builds the pinned Temporal CLI, starts the dev server (gRPC :7233, Web UI
# :8233, state in .data/ so loans survive a restart), the worker and the API
# (:8080), loads about 20 demo loans, repays one while you watch, and runs
# until Ctrl-C, then stops what it started. A second run reuses what is up.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=${GOFLAGS:--buildvcs=false}
mkdir -p .data .bin

TEMPORAL_PORT=${TEMPORAL_PORT:-7233}
UI_PORT=${UI_PORT:-8233}
API_ADDR=${API_ADDR:-127.0.0.1:8080}
export DATABASE_URL=${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/dunning?sslmode=disable}
export TEMPORAL_ADDRESS=${TEMPORAL_ADDRESS:-127.0.0.1:$TEMPORAL_PORT}
api="http://$API_ADDR"

pids=()
cleanup() {
  trap - INT TERM EXIT
  if [ ${#pids[@]} -gt 0 ]; then
    echo; echo "stopping: ${pids[*]}"
    kill "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
  fi
}
trap cleanup INT TERM EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "PostgreSQL"
scripts/ensure-postgres.sh

step "build (the first Temporal CLI build takes about 5 minutes)"
scripts/temporal-cli.sh
go build -o .bin/worker ./worker
go build -o .bin/starter ./starter
go build -o .bin/demo ./demo

# Payload encryption: the demo runs encrypted with a development key kept in
# .data/ (DUNNING_ENCRYPTION_KEYS wins when set); the Web UI decrypts through
# the API's codec server.
if [ -z "${DUNNING_ENCRYPTION_KEYS:-}" ]; then
  mkdir -p .data
  if [ ! -s .data/encryption.key ]; then
    (umask 077; printf 'dev-%s:%s\n' "$(date +%Y%m%d)" "$(head -c 32 /dev/urandom | base64)" > .data/encryption.key)
  fi
  DUNNING_ENCRYPTION_KEYS=$(cat .data/encryption.key)
fi
export DUNNING_ENCRYPTION_KEYS
export UI_CODEC_ENDPOINT=${UI_CODEC_ENDPOINT:-http://$API_ADDR/codec}
# The browser calls it from the Web UI's page, on whatever port that is.
export CODEC_ALLOW_ORIGINS=${CODEC_ALLOW_ORIGINS:-http://localhost:$UI_PORT,http://127.0.0.1:$UI_PORT}

step "Temporal dev server"
if .bin/temporal operator cluster health --address "127.0.0.1:$TEMPORAL_PORT" >/dev/null 2>&1; then
  echo "reusing the server already on 127.0.0.1:$TEMPORAL_PORT"
else
  DEVSERVER_LOG=.data/temporal.log
  export DEVSERVER_LOG
  pids+=("$(scripts/devserver.sh "$TEMPORAL_PORT" "$UI_PORT" .data/temporal.db)")
  echo "started; log in .data/temporal.log, state in .data/temporal.db"
fi

step "mailpit (the first build takes about 3.5 minutes)"
mailpit=$(scripts/mailpit.sh start 127.0.0.1:1025 127.0.0.1:8025 .data/mailpit.db)
if [ -n "$mailpit" ]; then pids+=("$mailpit"); fi
export MAILPIT_SMTP=127.0.0.1:1025 MAILPIT_UI=http://localhost:8025
if [ "$(cat .bin/mailpit.kind 2>/dev/null)" = api-only ]; then
  echo "emails: $MAILPIT_UI  (blank page: this mailpit was built without its web UI, see scripts/mailpit.sh; the API lists them: $MAILPIT_UI/api/v1/messages)"
else
  echo "emails: $MAILPIT_UI  (mailpit's web page; API: $MAILPIT_UI/api/v1/messages)"
fi

step "worker (SMS and push to the dev sink: one masked line each, below; email to mailpit)"
# Delivery for the demo: no real provider is ever called from here.
export SMS_PROVIDER=${SMS_PROVIDER:-dev} PUSH_PROVIDER=${PUSH_PROVIDER:-dev}
export EMAIL_PROVIDER=${EMAIL_PROVIDER:-smtp} SMTP_URL=${SMTP_URL:-smtp://$MAILPIT_SMTP} MAIL_FROM=${MAIL_FROM:-reminders@dunning.example}
.bin/worker > >(sed -u 's/^/[worker] /') 2>&1 &
pids+=($!)

step "API on $api"
if curl -fsS "$api/healthz" >/dev/null 2>&1; then
  echo "reusing the API already on $api"
else
  .bin/starter serve -addr "$API_ADDR" >.data/api.log 2>&1 &
  pids+=($!)
  for _ in $(seq 1 60); do curl -fsS "$api/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
  curl -fsS "$api/healthz" >/dev/null || { echo "the API did not come up; see .data/api.log" >&2; exit 1; }
fi

step "demo loans"
if .bin/starter status L-DEMO-01 >/dev/null 2>&1; then
  echo "the demo loans are already there (state in .data/); \`make clean\` starts afresh"
else
  .bin/demo >.data/demo-loans.jsonl
  .bin/starter import -f .data/demo-loans.jsonl || true
  (
    sleep 20
    loan=L-DEMO-20
    echo "[demo] repaying $loan in full"
    curl -fsS -X POST "$api/v1/loans/$loan/repayments" -H 'Content-Type: application/json' \
      -d '{"txn_id":"DEMO-TXN-1","amount":"5000.00"}' >/dev/null && echo "[demo] $loan repaid: paid_off SMS sent" || true
  ) &
  pids+=($!)
fi

query='LoanState="overdue" AND DaysPastDue > 30'
cat <<MSG

dunning is running.
  Web UI      http://localhost:$UI_PORT/namespaces/default/workflows
  overdue>30  http://localhost:$UI_PORT/namespaces/default/workflows?query=$(printf '%s' "$query" | sed 's/ /%20/g; s/"/%22/g; s/=/%3D/g; s/>/%3E/g')
  API         $api   (logs in .data/api.log)
  emails      $MAILPIT_UI

Try:
  curl -s $api/v1/loans/L-DEMO-08 | jq .
  curl -s $api/v1/loans/L-DEMO-08/notices | jq '.[] | {template, channel, status, body}'
  curl -s -X POST $api/v1/loans/L-DEMO-06/repayments -H 'Content-Type: application/json' -d '{"txn_id":"T-1","amount":"300.00"}' | jq .state
  curl -s -X POST $api/v1/loans/L-DEMO-09/pause -H 'Content-Type: application/json' -d '{"actor":"demo.operator","reason":"hardship review"}'
  curl -s "$api/v1/loans/L-DEMO-10/audit?format=csv"

Sent notices: the [worker] lines below (masked), the notices table
(psql "$DATABASE_URL" -c 'select loan_id, channel, template, status from notices'),
and GET /v1/loans/{id}/notices. Ctrl-C stops everything started here.
MSG
wait
