#!/usr/bin/env bash
# make chaos: fault tests against a private PostgreSQL and Redis (never the shared ones).
#
#   chaos/run.sh [pytest args]          e.g. chaos/run.sh -k redis
#   QUICK=1 chaos/run.sh                shorter outages (Redis 20 s, PostgreSQL 8 s, browser offline 15 s)
#   CHAOS_REDIS_OUTAGE=45 CHAOS_PG_OUTAGE=30 CHAOS_OFFLINE_SECONDS=120 chaos/run.sh
#   CHAOS_KEEP=1 chaos/run.sh           keep the temp dir (service and process logs) afterwards
#
# Starts both services in a temp dir on their own ports, migrates a throwaway
# database, runs `pytest chaos`, and always stops and removes everything on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

export CHAOS_PG_PORT=${CHAOS_PG_PORT:-5491}
export CHAOS_REDIS_PORT=${CHAOS_REDIS_PORT:-6391}
for port in "$CHAOS_PG_PORT" "$CHAOS_REDIS_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is in use: set CHAOS_PG_PORT / CHAOS_REDIS_PORT to free ports" >&2
    exit 2
  fi
done
case " $CHAOS_PG_PORT $CHAOS_REDIS_PORT " in
  *" 5432 "* | *" 6379 "*) echo "refusing to use the shared service ports 5432/6379" >&2; exit 2 ;;
esac

CHAOS_DIR=$(mktemp -d /tmp/chaos.XXXXXX)
export CHAOS_DIR
chmod 755 "$CHAOS_DIR"

cleanup() {
  status=$?
  set +e
  # Processes the tests started are stopped by their fixtures; this catches any
  # left behind by an interrupted run (recorded by pid in $CHAOS_DIR/pids).
  if [ -f "$CHAOS_DIR/pids" ]; then
    while read -r pid; do
      if [ -d "/proc/$pid" ] && grep -qaE 'celery|gunicorn' "/proc/$pid/cmdline" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
      fi
    done <"$CHAOS_DIR/pids"
    sleep 1
  fi
  chaos/services.sh redis-stop
  chaos/services.sh pg-stop immediate
  if [ -n "${CHAOS_KEEP:-}" ]; then
    echo "kept $CHAOS_DIR (logs: postgres.log, redis.log, *.log of workers and web servers)"
  else
    rm -rf "$CHAOS_DIR"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "==> private PostgreSQL on $CHAOS_PG_PORT, Redis on $CHAOS_REDIS_PORT ($CHAOS_DIR)"
chaos/services.sh pg-init
chaos/services.sh pg-start
chaos/services.sh redis-start
/usr/lib/postgresql/15/bin/createdb -h 127.0.0.1 -p "$CHAOS_PG_PORT" -U postgres chaos

export DATABASE_URL="postgres://postgres@127.0.0.1:$CHAOS_PG_PORT/chaos"
export REDIS_URL="redis://127.0.0.1:$CHAOS_REDIS_PORT/0"
export SECRET_KEY="chaos-$(head -c 24 /dev/urandom | base64 | tr -d '/+=')"
export FAST_PASSWORD_HASHER=1 LOG_LEVEL=${LOG_LEVEL:-WARNING}
export QUICK=${QUICK:-}
.venv/bin/python manage.py migrate --noinput >/dev/null

echo "==> pytest chaos ${QUICK:+(QUICK=1: short outages)}"
set +e
.venv/bin/python -m pytest chaos "$@"
result=$?
set -e
exit "$result"
