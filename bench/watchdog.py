"""``python -m bench watchdog``: 1,000 PromQL baselines through ``run_baseline`` vs bare queries.

Starts a private Prometheus with the test history, creates 1,000 baselines in a
throwaway database (PostgreSQL when ``DATABASE_URL`` is set, else a SQLite file
as on the embedded default), then times, in the same run and against the same server:

- the same 1,000 queries with bare ``urllib3`` (a keep-alive pool, JSON parsed): what
  the promql probe speaks, so the reference the goal is measured against,
- the same queries with a keep-alive ``requests.Session`` (gzip, proxy look-ups on
  top of urllib3), shown for information only,
- ``apm.services.run_baseline`` for each baseline: the probe, the evidence, the
  ledger INSERT and the escalation hook, committed (half the queries are above
  their target of 30, so half the baselines are red and hold an open escalation).

The three take turns 50 baselines at a time, so noise from other jobs on the
machine lands on every side alike. The first watchdog round opens those 500
escalations (audit entries and notifications); later rounds are the nightly
steady state (a red run counts on its open escalation, a green one finds
nothing open). Every round is printed; each side's figure is the sum, over the
chunks, of the chunk's fastest steady round (``timeit``'s rule: a slower repeat
of the same work measures the machine's other jobs, not the code).

Goal: the watchdog takes at most 1.5x the bare ``urllib3`` queries.
"""

import json
import logging
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bench._support import django_on_scratch_database, record

GOAL_RATIO = 1.5
COUNT = 1000
ROUNDS = 7  # the first opens the escalations; the rest are the steady state
CHUNK = 50  # baselines per turn (see _rounds)

QUERIES = [
    "rate(housing_wait_days_sum[7d]) / rate(housing_wait_count[7d])",
    "rate(voucher_approved_total[7d]) / rate(voucher_applications_total[7d])",
    "rate(api_errors_total[24h]) / rate(api_requests_total[24h]) * 100",
    "avg_over_time(scanner_queue_seconds[1h])",
]


def _rounds(items, *steps) -> list[list[list[float]]]:
    """``times[step][round][chunk]``: each step's time for each chunk of items.

    The steps take turns a chunk of ``CHUNK`` items at a time (50 bare queries,
    then the watchdog's runs of the same 50 baselines, ...): long enough runs for
    each side's code to stay warm, short enough that a noisy second on this
    shared machine lands on both sides alike.
    """
    clock = time.perf_counter
    chunks = [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]
    times = [[] for _ in steps]
    for _ in range(ROUNDS):
        for per_step in times:
            per_step.append([])
        for chunk in chunks:
            for i, step in enumerate(steps):
                start = clock()
                for item in chunk:
                    step(item)
                times[i][-1].append(clock() - start)
    return times


def _best(per_round: list[list[float]]) -> float:
    """The total of each chunk's fastest steady round (``timeit``'s rule, chunk by chunk:
    a slower repeat of the same work measures the machine's other jobs, not the code)."""
    steady = per_round[1:]
    return sum(min(chunk) for chunk in zip(*steady, strict=True))


def main() -> int:
    # PostgreSQL when DATABASE_URL says so, else a SQLite file (the embedded default).
    teardown = django_on_scratch_database("watchdog", sqlite=True)
    logging.getLogger("apm").setLevel(logging.WARNING)
    from tests.support.history import EVAL_TIME, default_history
    from tests.support.prometheus import PrometheusServer

    with tempfile.TemporaryDirectory() as tmp:
        prometheus = PrometheusServer(Path(tmp), default_history()).start()
        try:
            return _bench(prometheus, datetime.fromtimestamp(EVAL_TIME, tz=UTC))
        finally:
            prometheus.stop()
            teardown()


def _bench(prometheus, at) -> int:
    import requests
    import urllib3
    from django.conf import settings

    from apm import services
    from apm.models import Baseline, Deviation, Program

    settings.PROMETHEUS_URL = prometheus.url
    program = Program.objects.create(code="bench", name="Bench", authority="bench")
    baselines = [
        Baseline(
            program=program,
            name=f"baseline_{i}",
            target_value=30,
            probe_kind=Baseline.ProbeKind.PROMQL,
            probe_query=QUERIES[i % len(QUERIES)],
        )
        for i in range(COUNT)
    ]
    for baseline in baselines:
        baseline.save()  # each also gets its beat periodic task, as in production
    print(f"{connection_vendor()}: {COUNT} baselines against {prometheus.url}")

    session = requests.Session()
    pool = urllib3.PoolManager()
    url = f"{prometheus.url}/api/v1/query"

    def bare(b):
        response = session.get(url, params={"query": b.probe_query, "time": at.timestamp()})
        response.raise_for_status()
        float(response.json()["data"]["result"][0]["value"][1])

    def bare_urllib3(b):
        fields = {"query": b.probe_query, "time": str(at.timestamp())}
        response = pool.request("GET", url, fields=fields)
        assert response.status == 200, response.data
        float(json.loads(response.data)["data"]["result"][0]["value"][1])

    def watchdog(b):
        services.run_baseline(b, at=at)

    for step in (bare, bare_urllib3):  # warm every path (connections, Prometheus caches)
        for b in baselines:
            step(b)
    watchdog(baselines[0])
    times = _rounds(baselines, bare, bare_urllib3, watchdog)
    statuses = set(Deviation.objects.values_list("status", flat=True))
    if statuses - {"ok", "breach"}:
        print(f"unexpected statuses: {statuses}")
        return 1

    totals = [[sum(round_) for round_ in per_step] for per_step in times]
    for label, rounds in zip(("requests", "urllib3", "watchdog"), totals, strict=True):
        print(f"rounds, {label + ':':10} " + "  ".join(f"{t:6.3f}" for t in rounds) + " s")
    bare_s, urllib3_s, watchdog_s = (_best(per_step) for per_step in times)
    print(f"best of the {ROUNDS - 1} steady rounds, chunk by chunk ({CHUNK} baselines each):")
    for label, best in (
        ("bare queries (requests):", bare_s),
        ("bare queries (urllib3):", urllib3_s),
        ("watchdog run_baseline:", watchdog_s),
    ):
        print(f"{label:26} {best:7.3f} s  ({best / COUNT * 1000:.2f} ms each)")
    print(f"for information: {watchdog_s / bare_s:.2f}x the requests queries")
    ratio = watchdog_s / urllib3_s
    met = record(
        f"watchdog / bare urllib3 ({connection_vendor()})",
        f"{ratio:.2f}x ({watchdog_s / COUNT * 1000:.2f} ms vs {urllib3_s / COUNT * 1000:.2f} ms)",
        f"<= {GOAL_RATIO:g}",
        ratio <= GOAL_RATIO,
    )
    return 0 if met else 1


def connection_vendor() -> str:
    from django.db import connection

    return connection.vendor
