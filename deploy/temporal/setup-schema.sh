#!/bin/sh
# One-shot job (temporalio/admin-tools image): create Temporal's two PostgreSQL
# databases and bring their schemas to the version this server image ships.
#
# Idempotent: `setup-schema -v 0.0` resets the recorded schema version, so it runs
# only right after this job created the database; every run then applies the
# versioned updates, which skip what is already applied.
set -eu

: "${POSTGRES_SEEDS:?set POSTGRES_SEEDS to the PostgreSQL host}"
: "${POSTGRES_USER:?set POSTGRES_USER}"
: "${SQL_PASSWORD:?set SQL_PASSWORD (temporal-sql-tool reads the password from it)}"
port=${DB_PORT:-5432}
schema_root=/etc/temporal/schema/postgresql/v12

sql_tool() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$port" -u "$POSTGRES_USER" "$@"
}

setup_database() {
  database=$1
  versioned_dir=$2
  if sql_tool --db "$database" create; then
    echo "created database $database"
    sql_tool --db "$database" setup-schema -v 0.0
  else
    echo "database $database not created (it exists, or see the error above); updating its schema"
  fi
  sql_tool --db "$database" update-schema -d "$versioned_dir"
}

setup_database "${DBNAME:-temporal}" "$schema_root/temporal/versioned"
setup_database "${VISIBILITY_DBNAME:-temporal_visibility}" "$schema_root/visibility/versioned"
echo "Temporal schema is up to date"
