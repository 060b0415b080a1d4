#!/usr/bin/env bash
# ensure-postgres.sh: make sure a PostgreSQL server answers at $PGHOST:$PGPORT
# (default 127.0.0.1:5432). Order: already up → start the local cluster →
# install Debian's postgresql with apt-get (root only) → stop with exact
# instructions. Never downloads anything from outside the package registry.
set -euo pipefail
host=${PGHOST:-127.0.0.1}
port=${PGPORT:-5432}

up() { pg_isready -q -h "$host" -p "$port" 2>/dev/null; }
have_pg_isready() { command -v pg_isready >/dev/null 2>&1; }

if have_pg_isready && up; then exit 0; fi

start_cluster() {
  local ver
  ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
  [ -n "$ver" ] || return 1
  echo "ensure-postgres: starting PostgreSQL $ver cluster 'main'" >&2
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null \
    || pg_ctlcluster "$ver" main start || return 1
  for _ in $(seq 1 30); do up && return 0; sleep 1; done
  return 1
}

trust_local() {
  # A fresh Debian cluster uses peer auth on the socket and scram on TCP; the
  # dev and test setup connects as postgres over TCP without a password.
  local ver hba
  ver=$(ls /etc/postgresql | sort -V | tail -n1)
  hba=/etc/postgresql/$ver/main/pg_hba.conf
  if ! grep -q '^host all all 127.0.0.1/32 trust' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main reload 2>/dev/null || pg_ctlcluster "$ver" main reload
  fi
}

if [ -d /etc/postgresql ] && have_pg_isready && start_cluster; then exit 0; fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-postgres: installing PostgreSQL with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
  start_cluster || true
  trust_local
  start_cluster && exit 0
fi

cat >&2 <<MSG
ensure-postgres: no PostgreSQL answers at $host:$port and I cannot start or install one.
Do one of these, then run the command again:
  - Debian/Ubuntu:  sudo apt-get install -y postgresql && sudo pg_ctlcluster \$(ls /etc/postgresql) main start
                    and allow the postgres user over TCP (trust or a password in DATABASE_URL)
  - macOS:          brew install postgresql@16 && brew services start postgresql@16
  - any machine:    point DATABASE_URL at a PostgreSQL 13+ server you can reach
MSG
exit 1
