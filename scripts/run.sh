#!/usr/bin/env bash
# Set up and run HMS Monitor: migrate, load the demo, create the admin login,
# then serve web (gunicorn) + Celery worker + beat until Ctrl-C.
# Embedded default: SQLite in var/ and Celery's filesystem:// broker in var/broker/.
# With DATABASE_URL / REDIS_URL set, the same command uses PostgreSQL / Redis.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

export DEBUG="${DEBUG:-1}"
host="${HMS_HOST:-127.0.0.1}"
port="${HMS_PORT:-8000}"
py=.venv/bin/python
var="${HMS_VAR_DIR:-var}"
mkdir -p "$var"
# SQL probes read the demo's ledger, read-only, unless pointed at a reporting database.
export HMS_SQL_PROBE_DATABASE_URL="${HMS_SQL_PROBE_DATABASE_URL:-sqlite:///$($py -m apm.demo_ledger "$var/demo-ledger.sqlite3")}"

$py manage.py check --fail-level ERROR
$py manage.py migrate --noinput -v0
$py manage.py hms_demo
$py manage.py collectstatic --noinput -v0
$py manage.py hms_admin --password-file "$var/admin-password"

# Stop our own children (they stop theirs); then wait for them to finish.
trap 'trap - EXIT INT TERM; kill $(jobs -p) 2>/dev/null; wait' EXIT INT TERM
.venv/bin/celery -A hms_site worker --loglevel=INFO --pool=threads --concurrency=4 \
  --hostname="hms-worker@%h" &
.venv/bin/celery -A hms_site beat --loglevel=INFO --pidfile= &
.venv/bin/gunicorn hms_site.wsgi --bind "$host:$port" --workers 2 --threads 4 \
  --access-logfile - &

for _ in $(seq 1 100); do
  $py - "$host" "$port" <<'PY' && break
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://{sys.argv[1]}:{sys.argv[2]}/healthz", timeout=1)
except Exception:
    sys.exit(1)
PY
  sleep 0.3
done

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
