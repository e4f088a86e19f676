#!/usr/bin/env bash
# Start a throwaway Redis server for the tests that need one (FSM, update ledger, scale-out).
#   eval "$(scripts/test-redis.sh start)"   → exports TEST_REDIS_URL
#   scripts/test-redis.sh stop
# Installs Debian's redis-server if it is missing (CI runs as root on a fresh machine).
set -euo pipefail
REDIS_PORT=${REDIS_PORT:-56379}
REDIS_DIR=${REDIS_DIR:-/tmp/navigator-test-redis}
log() { echo "$*" >&2; }

start() {
  if ! command -v redis-server >/dev/null; then
    log "installing redis-server from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends redis-server >&2
  fi
  mkdir -p "$REDIS_DIR"
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
      --dir "$REDIS_DIR" --pidfile "$REDIS_DIR/redis.pid" --daemonize yes >&2
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  echo "export TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
}

stop() {
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
