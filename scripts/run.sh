#!/usr/bin/env bash
# Set up and run HMS Monitor: migrate, load the demo, create the admin login,
# then serve web (gunicorn) + Celery worker + beat until Ctrl-C.
# Embedded default: SQLite in var/ and Celery's filesystem:// broker in var/broker/.
# With DATABASE_URL / REDIS_URL set, the same command uses PostgreSQL / Redis.
set -euo pipefail
cd "$(dirname "$0")/.."

host="${HMS_HOST:-127.0.0.1}"
port="${HMS_PORT:-8000}"
export HMS_HOST="$host" HMS_PORT="$port"

# A busy port is refused before anything starts (gunicorn would retry for a minute).
"${PYTHON:-python3}" - "$host" "$port" <<'PY' || exit 1
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
try:
    probe.bind((host, port))
except OSError as exc:
    sys.exit(f"HMS Monitor cannot start: port {port} on {host} is in use ({exc.strerror}). "
             "Stop what runs there, or set HMS_PORT (e.g. HMS_PORT=8001 make run).")
finally:
    probe.close()
PY

scripts/setup.sh

export DEBUG="${DEBUG:-1}"
py=.venv/bin/python
var="${HMS_VAR_DIR:-var}"
mkdir -p "$var"
# A key of our own, kept in var/: manage.py in a plain shell reads the same one.
if [ -z "${SECRET_KEY:-}${SECRET_KEY_FILE:-}" ] && [ ! -s "$var/secret-key" ]; then
  (umask 077 && $py -c 'import secrets; print(secrets.token_urlsafe(64))' >"$var/secret-key")
fi
# SQL probes read the demo's ledger, read-only, unless pointed at a reporting database.
export HMS_SQL_PROBE_DATABASE_URL="${HMS_SQL_PROBE_DATABASE_URL:-sqlite:///$($py -m apm.demo_ledger "$var/demo-ledger.sqlite3")}"

$py manage.py check --fail-level ERROR
scripts/start.sh migrate >/dev/null
$py manage.py hms_demo
$py manage.py hms_admin --password-file "$var/admin-password"

pids=()
running() { local pid; for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && return 0; done; return 1; }
stop() {  # $1: INT when a Ctrl-C reached the whole process group (every process stops itself)
  trap - INT TERM EXIT
  if [ "${1:-}" = INT ]; then
    for _ in $(seq 1 40); do running || break; sleep 0.1; done
  fi
  # SIGTERM: a warm shutdown for the worker and beat, a graceful one for gunicorn.
  running && kill -TERM "${pids[@]}" 2>/dev/null
  wait
}
trap 'stop INT; exit 130' INT
trap 'stop TERM; exit 143' TERM
trap 'stop EXIT' EXIT

scripts/start.sh worker & pids+=($!)
scripts/start.sh beat & pids+=($!)
scripts/start.sh web & pids+=($!)

up=""
for _ in $(seq 1 200); do
  if $py - "$host" "$port" <<'PY'; then up=1; break; fi
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://{sys.argv[1]}:{sys.argv[2]}/healthz", timeout=1)
except Exception:
    sys.exit(1)
PY
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "HMS Monitor did not start (see above)" >&2; exit 1; }
  done
  sleep 0.3
done
[ -n "$up" ] || { echo "HMS Monitor did not answer on http://$host:$port/healthz" >&2; exit 1; }

cat <<MSG

  HMS Monitor is running.
    URL:    http://$host:$port/admin/
    Pages:  http://$host:$port/war-room/  http://$host:$port/dashboard/  http://$host:$port/public/
    API:    http://$host:$port/api/docs/
    Login:  admin / $(cat "$var/admin-password")
    Token:  $($py manage.py hms_token admin)
  Ctrl-C stops web, worker and beat.

MSG
wait -n
