#!/usr/bin/env bash
# Entry point of the streaming replica in deploy/compose.scale.yaml: on an
# empty data folder, clone the primary with pg_basebackup (-R writes
# standby.signal and primary_conninfo; -C makes the replication slot so the
# primary keeps the WAL the replica still needs), then hand over to the
# postgres image's own entry point. (These pg_basebackup flags were tried
# against a PostgreSQL 15 here: the clone streams, its slot is active.)
set -euo pipefail

: "${PGDATA:=/var/lib/postgresql/data}"
if [[ ! -s "$PGDATA/PG_VERSION" ]]; then
  install -d -o postgres -g postgres -m 0700 "$PGDATA"
  PGPASSWORD=$(tr -d '\n' < /run/secrets/replication_password)
  export PGPASSWORD
  gosu postgres pg_basebackup --host "${PRIMARY_HOST:?}" --username replicator \
    --pgdata "$PGDATA" --wal-method stream --write-recovery-conf \
    --slot replica_1 --create-slot --progress
fi
exec docker-entrypoint.sh "$@"
