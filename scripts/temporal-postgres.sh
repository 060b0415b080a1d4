#!/usr/bin/env bash
# temporal-postgres.sh start|stop: a Temporal server we build ourselves
# (scripts/temporal-server.sh, go.temporal.io/server pinned in
# tools/temporal-server/go.mod) on the local PostgreSQL with several history
# shards, for make load TEMPORAL=postgres (docs/PERFORMANCE.md).
#
# start: drops and creates the databases temporal_load and
# temporal_load_visibility, applies the schema shipped in the server module
# with the server's SQL tool, writes the server's config under
# .data/temporal-postgres/, starts the server in the background (log:
# .data/temporal-postgres/server.log), waits until it answers, registers the
# namespace default and dunning's search attributes (the list in
# scripts/devserver.sh) and prints the frontend's address.
# stop: stops the server it started (pid file), if any.
#
# Settings (environment): TEMPORAL_SHARDS (numHistoryShards, default 4),
# TEMPORAL_PG_PORT (frontend gRPC, default 7290; the server also takes the
# next four ports, the frontend's HTTP and the other services' gRPC, and the
# ports 100 above the gRPC ones for membership: 7390, 7392-7394), PGHOST,
# PGPORT, PGUSER (127.0.0.1, 5432, postgres: trust auth as
# scripts/ensure-postgres.sh sets it up).
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=${GOFLAGS:--buildvcs=false}
shards=${TEMPORAL_SHARDS:-4}
port=${TEMPORAL_PG_PORT:-7290}
pghost=${PGHOST:-127.0.0.1}
pgport=${PGPORT:-5432}
pguser=${PGUSER:-postgres}
db=temporal_load
visdb=temporal_load_visibility
dir=.data/temporal-postgres
pidfile=$dir/server.pid
log=$dir/server.log
addr=127.0.0.1:$port

stop() {
  [ -f "$pidfile" ] || return 0
  local pid
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# wait_for WHAT CMD...: retry CMD for up to 60 s while the server runs.
wait_for() {
  local what=$1
  shift
  for _ in $(seq 1 120); do
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "temporal-postgres: the server exited; its log ($log) ends with:" >&2
      tail -20 "$log" >&2
      exit 1
    fi
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  echo "temporal-postgres: $what: no success after 60 s; see $log" >&2
  "$@" >&2 || true
  stop
  exit 1
}

start() {
  case $shards in '' | *[!0-9]* | 0) echo "temporal-postgres: TEMPORAL_SHARDS=$shards: want a positive number" >&2; exit 2 ;; esac
  stop
  scripts/ensure-postgres.sh
  scripts/temporal-server.sh
  scripts/temporal-cli.sh
  local schema
  schema=$(cd tools/temporal-server && go list -m -f '{{.Dir}}' go.temporal.io/server)/schema/postgresql/v12
  [ -d "$schema/temporal/versioned" ] && [ -d "$schema/visibility/versioned" ] \
    || { echo "temporal-postgres: no schema under $schema" >&2; exit 1; }

  local p
  for p in $(seq "$port" $((port + 4))) $((port + 100)) $(seq $((port + 102)) $((port + 104))); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "temporal-postgres: port $p is taken (the server needs $port-$((port + 4)), $((port + 100)) and $((port + 102))-$((port + 104))); set TEMPORAL_PG_PORT" >&2
      exit 1
    fi
  done

  mkdir -p "$dir/config"
  local sql=(.bin/temporal-sql-tool --plugin postgres12 --ep "$pghost" -p "$pgport" -u "$pguser")
  local slog=$dir/schema.log
  # set -e does not reach into a || list: every step is chained with &&.
  {
    # WITH (FORCE): a server left running by an interrupted run still holds connections.
    psql -h "$pghost" -p "$pgport" -U "$pguser" -d postgres -v ON_ERROR_STOP=1 -q \
      -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "DROP DATABASE IF EXISTS $visdb WITH (FORCE)" &&
      "${sql[@]}" --db "$db" create-database &&
      "${sql[@]}" --db "$visdb" create-database &&
      "${sql[@]}" --db "$db" setup-schema -v 0.0 &&
      "${sql[@]}" --db "$db" update-schema -d "$schema/temporal/versioned" &&
      "${sql[@]}" --db "$visdb" setup-schema -v 0.0 &&
      "${sql[@]}" --db "$visdb" update-schema -d "$schema/visibility/versioned"
  } >"$slog" 2>&1 || { echo "temporal-postgres: schema setup failed; $slog ends with:" >&2; tail -20 "$slog" >&2; exit 1; }

  # The dynamic config the CLI's dev server sets for itself (temporalcli
  # commands.server.go, devserver/server.go), so that both servers of make
  # load run with the same settings and differ in persistence and shards.
  cat >"$dir/config/dynamicconfig.yaml" <<YAML
system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
frontend.persistenceMaxQPS:
  - value: 10000
history.persistenceMaxQPS:
  - value: 45000
history.hostLevelCacheMaxSize:
  - value: 8096
frontend.namespaceRPS.visibility:
  - value: 100
YAML
  datastore() { # datastore NAME DATABASE MAXCONNS
    cat <<YAML
    $1:
      sql:
        pluginName: postgres12
        databaseName: $2
        connectAddr: "$pghost:$pgport"
        connectProtocol: tcp
        user: $pguser
        password: ""
        maxConns: $3
        maxIdleConns: $3
        maxConnLifetime: 1h
YAML
  }
  service() { # service NAME GRPC MEMBERSHIP [HTTP]
    echo "  $1:"
    echo "    rpc:"
    echo "      grpcPort: $2"
    echo "      membershipPort: $3"
    echo "      bindOnLocalHost: true"
    if [ -n "${4:-}" ]; then echo "      httpPort: $4"; fi
  }
  {
    cat <<YAML
# Generated by scripts/temporal-postgres.sh; rewritten on every start.
log:
  stdout: true
  level: warn
persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: $shards
  datastores:
YAML
    datastore postgres-default "$db" 10
    datastore postgres-visibility "$visdb" 2
    cat <<YAML
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
services:
YAML
    service frontend "$port" $((port + 100)) $((port + 1))
    service history $((port + 2)) $((port + 102))
    service matching $((port + 3)) $((port + 103))
    service worker $((port + 4)) $((port + 104))
    cat <<YAML
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: "$addr"
      httpAddress: "127.0.0.1:$((port + 1))"
dcRedirectionPolicy:
  policy: noop
archival:
  history:
    state: disabled
  visibility:
    state: disabled
namespaceDefaults:
  archival:
    history:
      state: disabled
    visibility:
      state: disabled
dynamicConfigClient:
  filepath: $PWD/$dir/config/dynamicconfig.yaml
  pollInterval: 10s
YAML
  } >"$dir/config/development.yaml"

  .bin/temporal-server --root . --config "$dir/config" --env development --allow-no-auth start >"$log" 2>&1 &
  echo $! >"$pidfile"
  local t=(.bin/temporal --address "$addr")
  wait_for "health check on $addr" "${t[@]}" operator cluster health
  "${t[@]}" operator namespace create --namespace default --retention 72h >/dev/null
  wait_for "namespace default" "${t[@]}" operator namespace describe --namespace default
  local attrs
  attrs=$(grep -o -- '--search-attribute [A-Za-z]*=[A-Za-z]*' scripts/devserver.sh | cut -d' ' -f2)
  [ -n "$attrs" ] || { echo "temporal-postgres: no --search-attribute in scripts/devserver.sh" >&2; stop; exit 1; }
  for a in $attrs; do
    "${t[@]}" operator search-attribute create --namespace default --name "${a%%=*}" --type "${a#*=}" >/dev/null
  done
  # The frontend sees a new namespace once its registry refreshes.
  wait_for "namespace default on the frontend" "${t[@]}" workflow count --namespace default
  echo "temporal-postgres: server (pid $(cat "$pidfile")) on $addr, $shards history shards, PostgreSQL $pghost:$pgport/$db; log $log" >&2
  echo "$addr"
}

case ${1:-} in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
