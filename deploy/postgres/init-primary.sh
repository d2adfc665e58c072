#!/usr/bin/env bash
# First start of the PostgreSQL primary in deploy/compose.scale.yaml (run once
# by the postgres image from /docker-entrypoint-initdb.d, as the postgres
# user): the application role (CREATEDB: `backup verify` restores into a
# scratch database), the replication role, and pg_hba lines for both.
# Passwords come from Docker secrets, never from the compose file.
set -euo pipefail

app_password=$(tr -d '\n' < /run/secrets/storekeep_db_password)
repl_password=$(tr -d '\n' < /run/secrets/replication_password)

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v app_password="$app_password" -v repl_password="$repl_password" <<'SQL'
CREATE ROLE storekeep LOGIN CREATEDB PASSWORD :'app_password';
ALTER DATABASE storekeep OWNER TO storekeep;
CREATE ROLE replicator LOGIN REPLICATION PASSWORD :'repl_password';
SQL

cat >> "$PGDATA/pg_hba.conf" <<'HBA'
host replication replicator all scram-sha-256
host all         all        all scram-sha-256
HBA
