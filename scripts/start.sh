#!/usr/bin/env bash
# Start one HMS Monitor process in the foreground: the one command behind `make run`
# (scripts/run.sh), the container (Dockerfile ENTRYPOINT) and the systemd units
# (deploy/systemd/). Settings come from the environment (README "Configuration").
#
#   scripts/start.sh migrate   apply migrations, collect static files, then exit
#   scripts/start.sh web       gunicorn on HMS_HOST:HMS_PORT (default 127.0.0.1:8000)
#   scripts/start.sh worker    the Celery worker (threads pool)
#   scripts/start.sh beat      Celery beat (django-celery-beat's DatabaseScheduler)
#
# Each role execs its program, so signals reach it directly: SIGTERM stops it
# cleanly (gunicorn finishes its requests, the worker its tasks, within seconds).
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${HMS_VENV:-.venv}"
if [ -x "$venv/bin/python" ]; then
  bin="$venv/bin/"
else
  bin=""  # a container or system install: the programs are on PATH
fi

case "${1:-}" in
  migrate)
    "${bin}python" manage.py migrate --noinput
    "${bin}python" manage.py collectstatic --noinput -v0
    ;;
  web)
    # bind, workers, threads, graceful stop: deploy/gunicorn.conf.py (HMS_* variables)
    exec "${bin}gunicorn" hms_site.wsgi --config deploy/gunicorn.conf.py
    ;;
  worker)
    # Threads pool: no child processes to lose; mingle/gossip off: one worker
    # needs no peers, and a stop does not wait on broadcast replies. No -Q: it
    # consumes every queue of CELERY_TASK_QUEUES (HMS_CELERY_QUEUE, evaluations and
    # the rest, and HMS_CELERY_ACTIONS_QUEUE, hand-offs and playbook runs).
    exec "${bin}celery" -A hms_site worker --loglevel=INFO \
      --pool=threads --concurrency="${HMS_WORKER_CONCURRENCY:-4}" \
      --without-mingle --without-gossip --hostname="hms-worker@%h"
    ;;
  beat)
    exec "${bin}celery" -A hms_site beat --loglevel=INFO --pidfile=
    ;;
  *)
    echo "usage: scripts/start.sh migrate|web|worker|beat" >&2
    exit 2
    ;;
esac
