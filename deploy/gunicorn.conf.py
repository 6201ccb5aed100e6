"""gunicorn settings for ``scripts/start.sh web`` (the same in make run, the container
and systemd). Everything here can be overridden by the environment variables below."""

import os
import signal
import sys

bind = f"{os.environ.get('HMS_HOST', '127.0.0.1')}:{os.environ.get('HMS_PORT', '8000')}"
# 4 processes x 2 threads: 8 requests at once, as 2 x 4 was, and as many database
# connections at most; but a request's Python (ingest's parse and per-sample checks) holds
# its process's GIL, so 2 processes could not keep 2 cores busy. gunicorn's documentation
# puts workers "generally in the 2-4 x $(NUM_CORES) range": 4 for 2 cores; a bigger host
# sets HMS_WEB_WORKERS. Each process costs its own memory (one Django app each).
workers = int(os.environ.get("HMS_WEB_WORKERS", "4"))
threads = int(os.environ.get("HMS_WEB_THREADS", "2"))
# A stop waits this long for requests in flight (the pages answer in well under a second).
graceful_timeout = int(os.environ.get("HMS_WEB_GRACEFUL_SECONDS", "3"))
accesslog = "-"
# Behind a reverse proxy on the same host (docs/DEPLOY.md): trust its X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("HMS_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")


def post_worker_init(worker):
    """Workers stop the graceful way only, on the arbiter's word.

    A Ctrl-C reaches every process of the terminal's group; the arbiter then
    stops its workers itself. A worker ignores that SIGINT, and takes the
    arbiter's quick-stop SIGQUIT as a graceful stop: it leaves its loop (within a
    second), finishes what is in flight, and exits, instead of ``sys.exit`` from
    inside a signal handler, which could leave it hung until the SIGKILL.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, worker.handle_exit)


def worker_exit(server, worker):
    """A worker that has finished its requests ends here, without Python's teardown.

    Tearing down the interpreter (the whole Django app) costs seconds of CPU on a
    busy machine, long enough for the arbiter's graceful timeout to SIGKILL the
    worker; nothing is left to do: the database connections are closed first.
    """
    from django.db import connections

    connections.close_all()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
