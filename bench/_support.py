"""Shared by the benchmarks: a scratch database, timing, the load average and the results.

Every benchmark module has ``main() -> int`` (0 when all its goals were met) and reports
each goal row with ``record(...)``; ``python -m bench`` prints the rows of every module
it ran in one summary at the end.
"""

import contextlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Result:
    """One row of the goals table: the figure measured in this run against its goal."""

    figure: str
    value: str  # as measured, with its reference: "1.23x (41.0 ms vs 33.3 ms)"
    goal: str  # "<= 2"
    met: bool


RESULTS: list[Result] = []


def record(figure: str, value: str, goal: str, met: bool) -> bool:
    """Print one goal row now and keep it for the summary; returns ``met``."""
    RESULTS.append(Result(figure, value, goal, met))
    print(f"RESULT {figure}: {value}  goal {goal}  {'met' if met else 'MISSED'}", flush=True)
    return met


def load_average() -> str:
    """``/proc/loadavg``'s three averages and the UTC time, printed by every run."""
    try:
        loads = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        loads = "unknown"
    return f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {loads}"


def scratch_name(old_name: str, module: str) -> str:
    """``bench_<database>_<module>`` (``hms_`` dropped): never the test suite's ``test_<name>``,
    so a test run at the same time cannot drop it, nor a benchmark a test's database."""
    base = Path(str(old_name)).stem.removeprefix("hms_").removeprefix("test_")
    return f"bench_{base}_{module}"


def django_on_scratch_database(module: str = "ops", *, sqlite: bool = False):
    """Set Django up on a fresh ``bench_…`` database; returns a function that drops it.

    Returns None (after printing why) when ``DATABASE_URL`` is not PostgreSQL, unless
    ``sqlite`` (then a scratch SQLite file under ``var/``).
    """
    url = os.environ.get("DATABASE_URL", "")
    postgres = url.startswith(("postgres://", "postgresql://", "pgsql://"))
    if not postgres and not sqlite:
        print("skipped: set DATABASE_URL to a PostgreSQL database (the figures are for PostgreSQL)")
        return None
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hms_site.test_settings")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment, teardown_test_environment

    setup_test_environment()
    old_name = connection.settings_dict["NAME"]
    name = scratch_name(old_name, module)
    if not postgres:
        from django.conf import settings

        name = str(Path(settings.VAR_DIR) / f"{name}.sqlite3")
    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    with contextlib.redirect_stdout(sys.stderr):
        connection.creation.create_test_db(
            verbosity=0, autoclobber=True, keepdb=False, serialize=False
        )

    def teardown():
        connection.close()
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
