#!/bin/sh
# setup-db.sh: create Temporal's databases on PostgreSQL and bring their
# schemas to the version of this temporalio/admin-tools image. docker compose
# runs it once (service temporal-setup-db) before the server starts; it is
# safe to run again: existing databases are kept and schemas are updated in
# place. temporal-sql-tool reads the password from SQL_PASSWORD.
# TEMPORAL_SCHEMA_DIR points elsewhere than the image's schemas (to run it
# outside the image: the server module's schema/postgresql/v12).
set -eu
: "${POSTGRES_SEEDS:?POSTGRES_SEEDS is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
port=${DB_PORT:-5432}
schema=${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}

sql() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$port" -u "$POSTGRES_USER" "$@"
}

# setup DATABASE SCHEMA: the database and its versioned schema (temporal or visibility).
setup() {
  echo "setup-db: $1 ($2 schema)"
  sql --db "$1" create
  sql --db "$1" setup-schema -v 0.0
  sql --db "$1" update-schema -d "$schema/$2/versioned"
}

setup "${DBNAME:-temporal}" temporal
setup "${VISIBILITY_DBNAME:-temporal_visibility}" visibility
echo "setup-db: done"
