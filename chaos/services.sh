#!/usr/bin/env bash
# Private PostgreSQL and Redis for the fault tests. Never touches the machine's
# shared services on 5432/6379: everything lives under $CHAOS_DIR, on its own
# ports, and is stopped by pid/data directory, never by name.
#
#   services.sh pg-init            initdb into $CHAOS_DIR/pgdata (owned by postgres)
#   services.sh pg-start           start it on $CHAOS_PG_PORT, wait until it accepts connections
#   services.sh pg-stop [MODE]     pg_ctl stop -m MODE (fast by default; immediate = crash)
#   services.sh redis-start        start redis-server on $CHAOS_REDIS_PORT (no persistence)
#   services.sh redis-stop         SHUTDOWN NOSAVE it (everything queued in it is lost)
#
# Needs CHAOS_DIR, CHAOS_PG_PORT and CHAOS_REDIS_PORT (chaos/run.sh exports them).
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
: "${CHAOS_DIR:?}" "${CHAOS_PG_PORT:?}" "${CHAOS_REDIS_PORT:?}"
PGDATA="$CHAOS_DIR/pgdata"
SOCKDIR="$CHAOS_DIR/sock"

# PostgreSQL refuses to run as root: run its tools as the postgres OS user then.
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  pg-init)
    mkdir -p "$PGDATA" "$SOCKDIR"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$CHAOS_DIR" "$PGDATA" "$SOCKDIR"; fi
    chmod 700 "$PGDATA"
    as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres -A trust -E UTF8 --no-sync >"$CHAOS_DIR/initdb.log" 2>&1
    ;;
  pg-start)
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$CHAOS_DIR/postgres.log" -w -t 60 \
      -o "-p $CHAOS_PG_PORT -k $SOCKDIR -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=on" \
      start >/dev/null
    ;;
  pg-stop)
    if [ -f "$PGDATA/postmaster.pid" ]; then
      as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m "${2:-fast}" -w -t 60 stop >/dev/null
    fi
    ;;
  redis-start)
    redis-server --port "$CHAOS_REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no \
      --daemonize yes --pidfile "$CHAOS_DIR/redis.pid" --logfile "$CHAOS_DIR/redis.log" --dir "$CHAOS_DIR"
    for _ in $(seq 1 50); do
      redis-cli -p "$CHAOS_REDIS_PORT" ping >/dev/null 2>&1 && exit 0
      sleep 0.1
    done
    echo "private redis did not start on $CHAOS_REDIS_PORT" >&2
    exit 1
    ;;
  redis-stop)
    redis-cli -p "$CHAOS_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    for _ in $(seq 1 50); do
      redis-cli -p "$CHAOS_REDIS_PORT" ping >/dev/null 2>&1 || exit 0
      sleep 0.1
    done
    echo "private redis on $CHAOS_REDIS_PORT did not stop" >&2
    exit 1
    ;;
  *)
    echo "usage: $0 pg-init|pg-start|pg-stop [fast|immediate]|redis-start|redis-stop" >&2
    exit 2
    ;;
esac
