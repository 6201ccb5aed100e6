"""Shared by the OPS benchmarks: Django on a throw-away PostgreSQL database, and timing."""

import contextlib
import os
import sys
import time


def django_on_scratch_database(name: str | None = None):
    """Set Django up on a fresh ``bench_<name>`` database (``name``: the benchmark's own,
    default the configured database's name); returns a function that drops it.

    Returns None (after printing why) when ``DATABASE_URL`` is not PostgreSQL.
    """
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
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"bench_{name or old_name}"
    with contextlib.redirect_stdout(sys.stderr):
        connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)

    def teardown():
        connection.creation.destroy_test_db(old_name, verbosity=0)
        teardown_test_environment()

    return teardown


def best_of(runs: int, func) -> float:
    """The shortest wall time of ``runs`` calls of ``func()`` (seconds)."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - started)
    return best
