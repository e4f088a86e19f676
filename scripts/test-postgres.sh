#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the test suite's PostgreSQL leg.
#   eval "$(scripts/test-postgres.sh start)"   → exports TEST_DATABASE_URL
#   scripts/test-postgres.sh stop
# Installs Debian's postgresql if it is missing (CI runs as root on a fresh machine).
set -euo pipefail
PGDIR=${PGDIR:-/tmp/navigator-test-pg}
PGPORT=${PGPORT:-54329}
log() { echo "$*" >&2; }

find_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$dir" ] && [ -x "$dir/pg_ctl" ] && echo "$dir"
}

as_postgres() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install_server() {
  log "installing PostgreSQL from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
}

start() {
  local bin
  bin=$(find_bin) || { install_server; bin=$(find_bin); }
  if [ -f "$PGDIR/data/postmaster.pid" ] && as_postgres "$bin/pg_ctl" -D "$PGDIR/data" status >/dev/null 2>&1; then
    log "PostgreSQL already running in $PGDIR"
  else
    rm -rf "$PGDIR"
    mkdir -p "$PGDIR"
    [ "$(id -u)" = "0" ] && chown postgres "$PGDIR"
    as_postgres "$bin/initdb" -D "$PGDIR/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >/dev/null
    as_postgres "$bin/pg_ctl" -D "$PGDIR/data" -l "$PGDIR/server.log" -w \
      -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200" start >&2
    as_postgres "$bin/createdb" -h 127.0.0.1 -p "$PGPORT" -U postgres navigator_test
  fi
  echo "export TEST_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:$PGPORT/navigator_test"
}

stop() {
  local bin
  bin=$(find_bin) || exit 0
  as_postgres "$bin/pg_ctl" -D "$PGDIR/data" -m fast stop >&2 || true
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
