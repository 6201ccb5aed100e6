"""``python -m bench backtest``: a 90-day daily backtest vs the bare ``query_range`` it asks.

Starts a private Prometheus with the calendar history (tests/support/history.py,
hourly samples over 15 months), creates one PromQL baseline with one route and
one leadership-review policy on a throw-away database (``bench_periods_backtest``
on PostgreSQL when ``DATABASE_URL`` is set, else a SQLite file), and times in
the same run, taking turns so the machine's other jobs land on both alike:

- the reference: the same ``query_range`` (90 daily points) made with bare
  ``urllib3`` (what the promql probe speaks), the JSON decoded;
- ``apm.backtest.run``: input checks, the candidate, the one ``query_range``,
  90 evaluations with the watchdog's ``services.evaluate`` and the escalation
  rule, the route and policy reads, the answer built.

Each side's figure is its fastest of ROUNDS (``timeit``'s rule). Goal: the
backtest takes at most 2x the bare ``query_range``.
"""

import json
import logging
import os
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import _support

GOAL_RATIO = 2.0
ROUNDS = 200  # each side ~1-5 ms: many rounds, so a quiet moment is found for both
SINCE = datetime(2026, 6, 1, tzinfo=UTC)
UNTIL = SINCE + timedelta(days=89)
NOW = datetime(2026, 10, 2, 12, tzinfo=UTC)
QUERY = "daily_wait_days"


def _setup_django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hms_site.test_settings")
    import django

    django.setup()
    logging.getLogger("apm").setLevel(logging.WARNING)
    from django.db import connection

    connection.settings_dict.setdefault("TEST", {})["NAME"] = "bench_periods_backtest"
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    return connection


def _fastest(func) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def main() -> int:
    connection = _setup_django()
    old_name = connection.settings_dict["NAME"]
    from tests.support.history import calendar_history
    from tests.support.prometheus import PrometheusServer

    with tempfile.TemporaryDirectory() as tmp:
        prometheus = PrometheusServer(Path(tmp), calendar_history(), block_hours=24 * 120)
        prometheus.start()
        try:
            return _bench(prometheus)
        finally:
            prometheus.stop()
            connection.creation.destroy_test_db(old_name, verbosity=0)


def _bench(prometheus) -> int:
    import urllib3
    from django.conf import settings

    from apm import backtest
    from apm.models import Baseline, EscalationPolicy, EscalationRoute, Program
    from ops.models import Channel

    settings.PROMETHEUS_URL = prometheus.url
    program = Program.objects.create(code="bench", name="Bench", authority="bench")
    baseline = Baseline(program=program, name="wait", target_value=33, threshold_pct=10,
                        probe_kind=Baseline.ProbeKind.PROMQL, probe_query=QUERY)  # fmt: skip
    baseline.save()
    channel = Channel.objects.create(name="ops", kind="slack", target="#ops")
    EscalationRoute.objects.create(program=program, channel=channel)
    EscalationPolicy.objects.create(baseline=baseline, after_days_no_fix=2)
    data = {"since": SINCE.isoformat(), "until": UNTIL.isoformat(), "step": "1d"}

    pool = urllib3.PoolManager()
    fields = {"query": QUERY, "start": f"{SINCE.timestamp():.3f}",
              "end": f"{UNTIL.timestamp():.3f}", "step": "86400s"}  # fmt: skip

    def bare():
        response = pool.request("GET", f"{prometheus.url}/api/v1/query_range", fields=fields)
        assert len(json.loads(response.data)["data"]["result"][0]["values"]) == 90

    answer = {}

    def backtested():
        answer.update(backtest.run(baseline, data, now=NOW))

    bare_times, backtest_times = [], []
    for _ in range(ROUNDS):
        bare_times.append(_fastest(bare))
        backtest_times.append(_fastest(backtested))
    reference, measured = min(bare_times), min(backtest_times)
    ratio = measured / reference
    print(f"{answer['evaluations']} evaluations, {answer['breaches']} breaches, "
          f"{answer['escalations_opened']} escalations, {answer['notifications']} notifications, "
          f"{answer['leadership_reviews']} leadership reviews")  # fmt: skip
    print(f"bare query_range: {reference * 1000:.2f} ms (fastest of {ROUNDS})")
    print(f"backtest:         {measured * 1000:.2f} ms (fastest of {ROUNDS})")
    print(
        f"ratio {ratio:.2f}x (goal <= {GOAL_RATIO:g}x): "
        f"{'met' if ratio <= GOAL_RATIO else 'MISSED'}"
    )
    met = _support.record(
        "backtest, 90 daily points ÷ the bare query_range",
        f"{ratio:.2f}x ({measured * 1000:.2f} ms vs {reference * 1000:.2f} ms)",
        f"<= {GOAL_RATIO:g}",
        ratio <= GOAL_RATIO,
    )
    return 0 if met else 1
