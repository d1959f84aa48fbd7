#!/bin/sh
# One-off: create Temporal's two databases on its PostgreSQL and bring their schemas to
# the version of the admin-tools image (the same release as the server). Idempotent.
set -eu
SQL="temporal-sql-tool --plugin postgres12 --ep temporal-db -p 5432 -u temporal"
SCHEMA=/etc/temporal/schema/postgresql/v12
until nc -z temporal-db 5432; do echo "waiting for temporal-db ..."; sleep 2; done
for db in temporal temporal_visibility; do
  $SQL --db "$db" create || echo "database $db exists"
done
$SQL --db temporal setup-schema -v 0.0 || true
$SQL --db temporal update-schema -d "$SCHEMA/temporal/versioned"
$SQL --db temporal_visibility setup-schema -v 0.0 || true
$SQL --db temporal_visibility update-schema -d "$SCHEMA/visibility/versioned"
echo "Temporal schema up to date"
