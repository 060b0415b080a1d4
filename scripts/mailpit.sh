#!/usr/bin/env bash
# mailpit.sh [start [SMTP_ADDR [UI_ADDR [DB_FILE]]]]: the mail catcher for
# development. Without arguments it builds mailpit, pinned in
# tools/mailpit/go.mod, into .bin/mailpit (about 4 minutes the first time on
# 2 cores; later calls return at once; it rebuilds when tools/mailpit/go.mod or
# go.sum change).
#
# `start` also starts it in the background (SMTP on 127.0.0.1:1025, web UI and
# API on 127.0.0.1:8025, messages in .data/mailpit.db), waits until both
# answer and prints its PID. If a mailpit already answers on UI_ADDR it starts
# nothing and prints nothing.
#
# mailpit has its own module, not tools/go.mod: its requirements (tablewriter
# v1) would upgrade the Temporal CLI's, which then no longer compiles.
#
# The Go module holds no web UI bundle (server/ui/dist is built with npm), so
# the build copies the module's source from the Go module cache to a temporary
# directory, builds the bundle there with npm (Debian's nodejs and npm are
# installed with apt-get when missing and we are root), then builds that copy
# with the versions of tools/mailpit/go.mod (-modfile with a replace). Nothing
# comes from outside the Go module proxy, the npm registry and Debian. Changes
# to upstream's package.json, because not every version its lockfile names is
# on the npm registry we reach: no lockfile (npm takes the newest matching
# versions), rapidoc (the API docs page) may be ^9 when ^12 is missing, and
# only the build's devDependencies (no eslint, prettier, playwright, jsdom);
# no install scripts run. If that fails it builds the API-only binary (the
# page at UI_ADDR stays blank, the API /api/v1/messages and SMTP work), says
# why, and keeps it until go.mod changes: `rm .bin/mailpit` to retry.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOFLAGS=${GOFLAGS:--buildvcs=false}
bin=.bin/mailpit
version=$(awk '$1 == "github.com/axllent/mailpit" { print $2 }' tools/mailpit/go.mod)

kind=$bin.kind # "ui" or "api-only", written with the binary

ensure_npm() {
  if command -v npm >/dev/null 2>&1 && command -v node >/dev/null 2>&1; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "mailpit: installing Debian's nodejs and npm with apt-get for the web UI bundle" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=120 \
        --no-install-recommends nodejs npm >/dev/null &&
      command -v npm >/dev/null 2>&1 && return 0
  fi
  echo "mailpit: npm is missing (install nodejs and npm, e.g. apt-get install nodejs npm)" >&2
  return 1
}

# build_with_ui TMP: the web UI bundle, then the binary, in TMP. Output of npm
# and go goes to TMP/build.log.
build_with_ui() {
  local tmp=$1 root=$PWD src
  src=$(cd tools/mailpit && go mod download -json "github.com/axllent/mailpit@$version" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$src" ] && [ -d "$src" ] || { echo "mailpit: go mod download gave no source directory" >&2; return 1; }
  cp -R "$src" "$tmp/src" && chmod -R u+w "$tmp/src" || return 1
  (
    cd "$tmp/src" || exit 1
    rm -f package-lock.json
    node -e '
      const fs = require("fs");
      const p = JSON.parse(fs.readFileSync("package.json", "utf8"));
      // The npm registry here lacks rapidoc 12: npm takes the newest of either.
      if (p.dependencies.rapidoc) p.dependencies.rapidoc += " || ^9.3.8";
      const keep = ["@vue/compiler-sfc", "esbuild", "esbuild-plugin-vue-next", "esbuild-sass-plugin"];
      for (const k of Object.keys(p.devDependencies || {})) if (!keep.includes(k)) delete p.devDependencies[k];
      delete p.overrides; delete p["//overrides"];
      fs.writeFileSync("package.json", JSON.stringify(p, null, 2));
    ' &&
      echo "mailpit: npm install (about 1.5 minutes)" >&2 &&
      npm install --no-audit --no-fund --ignore-scripts >>"$tmp/build.log" 2>&1 &&
      MINIFY=true node esbuild.config.mjs >>"$tmp/build.log" 2>&1 &&
      [ -s server/ui/dist/app.js ]
  ) || { echo "mailpit: the web UI bundle failed; its output ends with:" >&2; tail -15 "$tmp/build.log" >&2; return 1; }
  # Our go.mod and go.sum, with mailpit replaced by the copy holding the bundle.
  mkdir -p "$tmp/mod" && cp tools/mailpit/go.mod tools/mailpit/go.sum "$tmp/mod/" &&
    go mod edit -replace "github.com/axllent/mailpit=$tmp/src" "$tmp/mod/go.mod" || return 1
  echo "mailpit: go build" >&2
  (cd tools/mailpit && go build -modfile="$tmp/mod/go.mod" \
    -ldflags "-X github.com/axllent/mailpit/config.Version=$version" \
    -o "$root/$bin.new" github.com/axllent/mailpit) >>"$tmp/build.log" 2>&1 ||
    { echo "mailpit: go build with the web UI failed; its output ends with:" >&2; tail -15 "$tmp/build.log" >&2; return 1; }
}

if ! { [ -x "$bin" ] && [ -f "$kind" ] && [ "$bin" -nt tools/mailpit/go.mod ] && [ "$bin" -nt tools/mailpit/go.sum ]; }; then
  mkdir -p .bin
  rm -f "$kind" "$bin.new"
  echo "mailpit: building $version with its web UI from tools/mailpit/go.mod (first time: ~4 min)" >&2
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/mailpit-build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  if ensure_npm && build_with_ui "$tmp"; then
    mv -f "$bin.new" "$bin"
    echo ui >"$kind"
  else
    rm -f "$bin.new"
    echo "mailpit: building the API-only binary instead: the page at the web UI address stays blank," >&2
    echo "mailpit: the API (/api/v1/messages) and SMTP work. \`rm $bin\` and run again to retry." >&2
    (cd tools/mailpit && go build -ldflags "-X github.com/axllent/mailpit/config.Version=$version" \
      -o ../../$bin github.com/axllent/mailpit)
    echo api-only >"$kind"
  fi
  rm -rf "$tmp"
  trap - EXIT
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
