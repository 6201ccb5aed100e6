"""Shared by the OPS benchmarks: Django on a throw-away PostgreSQL database, and timing."""

import contextlib
import os
import subprocess
import sys
import time


def django_on_scratch_database(name: str | None = None):
    """Set Django up on a fresh ``bench_<name>`` database (or ``name``, which must start with
    ``bench_``); returns a function that drops it.

    Returns None (after printing why) when ``DATABASE_URL`` is not PostgreSQL.
    """
    if name is not None and not name.startswith("bench_"):
        raise ValueError(f"{name!r}: a benchmark database's name starts with bench_")
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        print("skipped: set DATABASE_URL to a PostgreSQL database (the figures are for PostgreSQL)")
        return None
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hms_site.test_settings")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    # Not the test suite's test_<name>: a test run at the same time would drop it.
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name or f"bench_{old_name}"
    with contextlib.redirect_stdout(sys.stderr):
        connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)

    def teardown():
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()

    return teardown


def run_on_scratch_database(run, name: str | None = None) -> int:
    """``run()`` on a fresh scratch database (``django_on_scratch_database``), dropped after;
    0 (skipped) when ``DATABASE_URL`` is not PostgreSQL."""
    teardown = django_on_scratch_database(name)
    if teardown is None:
        return 0
    try:
        return run()
    finally:
        teardown()


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def for_seconds(seconds: float, target, count: int) -> float:
    """Run ``target(stop, index)`` on ``count`` threads (index 0, 1, ...) for ``seconds``,
    then set ``stop`` and join them; the elapsed wall time."""
    import threading

    stop = threading.Event()
    threads = [threading.Thread(target=target, args=(stop, i)) for i in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def start_gunicorn(port: int, *, workers: int, threads: int, var: str) -> subprocess.Popen:
    """gunicorn serving HMS on 127.0.0.1:``port`` from the scratch database Django is on now,
    production settings (no throttle on ingest), ``var/<var>`` as its var dir; returns once
    ``/healthz`` answers (RuntimeError after 60 s)."""
    import secrets
    from pathlib import Path

    import requests
    from django.db import connection

    root = Path(__file__).resolve().parent.parent
    (root / "var" / var / "static").mkdir(parents=True, exist_ok=True)
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DJANGO_SETTINGS_MODULE": "hms_site.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "HMS_INGEST_RATE": "1000000/min",
        "HMS_VAR_DIR": str(root / "var" / var),
    }
    command = [sys.executable, "-m", "gunicorn", "hms_site.wsgi", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--threads", str(threads), "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=root, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200:
                return server
        time.sleep(0.2)
    server.kill()
    raise RuntimeError("gunicorn did not come up")


def best_of(runs: int, func) -> float:
    """The shortest wall time of ``runs`` calls of ``func()`` (seconds)."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - started)
    return best
