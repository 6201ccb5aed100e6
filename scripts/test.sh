#!/usr/bin/env bash
# Set up and run the whole test suite, plus the linters.
# DATABASE_URL selects PostgreSQL (else SQLite); REDIS_URL the Redis for the
# Celery integration tests; HMS_REQUIRE_SERVICES=1 turns a missing service
# (Redis, Prometheus, chromium) into a failure instead of a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --dev

.venv/bin/ruff check .
.venv/bin/ruff format --check .
DJANGO_SETTINGS_MODULE=hms_site.test_settings .venv/bin/python manage.py makemigrations --check --dry-run >/dev/null \
  || { echo "models changed without a migration: run manage.py makemigrations" >&2; exit 1; }
.venv/bin/pytest "$@"
