#!/usr/bin/env bash
# Installs (Debian's postgresql) and starts a PostgreSQL server on 127.0.0.1:5432 with a role
# and database "iatiportal" (password "iatiportal") for the test suite. Idempotent.
set -euo pipefail

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >/dev/null
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | grep -q "^$version main"; then
  $SUDO pg_createcluster "$version" main >/dev/null
fi
if ! pg_lsclusters -h | grep -q "^$version main .* online"; then
  $SUDO pg_ctlcluster "$version" main start
fi
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }
for _ in $(seq 1 30); do
  as_postgres psql -qtAc 'select 1' >/dev/null 2>&1 && break
  sleep 1
done
as_postgres psql -qtAc "select 1 from pg_roles where rolname='iatiportal'" | grep -q 1 ||
  as_postgres psql -qc "create role iatiportal login createdb password 'iatiportal'"
# The tests drop their scratch databases WITH (FORCE), which ends a killed client's backend.
PGOPTIONS="-c client_min_messages=warning" as_postgres psql -qc "grant pg_signal_backend to iatiportal" >/dev/null
as_postgres psql -qtAc "select 1 from pg_database where datname='iatiportal'" | grep -q 1 ||
  as_postgres psql -qc "create database iatiportal owner iatiportal"
echo "PostgreSQL $version is running on 127.0.0.1:5432 (database iatiportal)"
