"""Shared by the benchmarks: a scratch database, timing, the load average and the results.

Every benchmark module has ``main() -> int`` (0 when all its goals were met) and reports
each goal row with ``record(...)``; ``python -m bench`` prints the rows of every module
it ran in one summary at the end.
"""

import contextlib
import os
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


def best_of(runs: int, func) -> float:
    """The shortest wall time of ``runs`` calls of ``func()`` (seconds)."""
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - started)
    return best
