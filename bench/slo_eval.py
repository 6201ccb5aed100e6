"""One SLO evaluation pass on PostgreSQL vs Prometheus ``quantile_over_time`` on the same samples.

Every SLO is a p95 over a 5-minute window of its own series (a sample every
5 s, 10 minutes of history). Prometheus (Debian package, private instance)
gets the same 1,000 series backfilled with promtool, and answers
``quantile_over_time(0.95, m[5m])`` at the same instant; the answers are checked
equal before any figure is printed. Goals: the 1,000-SLO pass at most 3x the
Prometheus query, and the 10,000-SLO pass at most 11x the 1,000-SLO pass.
"""

import tempfile
import time
from pathlib import Path

import requests

from bench._support import best_of, django_on_scratch_database

STEP = 5
HISTORY = 600
WINDOW = 300
SMALL, LARGE = 1_000, 10_000
RUNS = 7


def _value(i: int, k: int) -> float:
    return ((i * 7919 + k * 104729) % 1000) / 10


def _document(service_id: str) -> dict:
    return {
        "id": service_id,
        "owner": "bench",
        "sensors": [{"name": "m"}],
        "slo": {"target": "m", "threshold": 50, "window_seconds": WINDOW},
    }


def _create_slos(first: int, last: int, start: int) -> None:
    """Services ``S_first .. S_last-1`` with one SLO each and their samples (COPY)."""
    from django.db import connection

    from ops.metrics.ingest import COPY_HEADER, COPY_TRAILER, encode
    from ops.models import SLO, Sample, Sensor, Series, Service

    ids = [f"S_{i:05d}" for i in range(first, last)]
    # A document that parses: a breach opens the service's incident (no playbook: no runs).
    Service.objects.bulk_create([Service(id=s, owner="bench", document=_document(s)) for s in ids])
    Sensor.objects.bulk_create([Sensor(service_id=s, name="m") for s in ids])
    SLO.objects.bulk_create(
        [SLO(service_id=s, target="m", threshold=50, window_seconds=WINDOW) for s in ids]
    )
    Series.objects.bulk_create([Series(service_id=s, name="m") for s in ids])
    series = dict(Series.objects.filter(service_id__in=ids).values_list("service_id", "id"))
    rows = [
        (series[f"S_{i:05d}"], (start + k * STEP) * 1_000_000, _value(i, k))
        for i in range(first, last)
        for k in range(HISTORY // STEP + 1)
    ]
    table = connection.ops.quote_name(Sample._meta.db_table)
    sql = f"COPY {table} (series_id, ts, value) FROM STDIN (FORMAT BINARY)"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        copy.write(b"".join((COPY_HEADER, encode(rows), COPY_TRAILER)))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {table}")


def _prometheus(workdir: Path, start: int):
    from tests.support.prometheus import PrometheusServer, Series, binaries_available

    missing = binaries_available()
    if missing:
        print(f"skipped: not installed: {missing}")
        return None
    series = [
        Series(
            "m",
            [(start + k * STEP, _value(i, k)) for k in range(HISTORY // STEP + 1)],
            (("svc", f"S_{i:05d}"),),
        )
        for i in range(SMALL)
    ]
    return PrometheusServer(workdir, series).start()


def run(workdir: Path) -> int:
    from datetime import UTC, datetime, timedelta

    from ops.models import SLO, WorkerHeartbeat
    from ops.slo import EVALUATOR, evaluate_all

    start = int(time.time()) - 3 * 86400  # whole seconds, well inside retention
    at_unix = start + HISTORY + 0.5  # between samples: no boundary ties
    at = datetime.fromtimestamp(at_unix, tz=UTC)
    prometheus = _prometheus(workdir, start)
    if prometheus is None:
        return 0
    try:
        _create_slos(0, SMALL, start)
        promql = f"quantile_over_time(0.95, m[{WINDOW // 60}m])"

        def prom_query():
            response = requests.get(
                f"{prometheus.url}/api/v1/query",
                params={"query": promql, "time": at_unix},
                timeout=30,
            )
            response.raise_for_status()
            return response.json()["data"]["result"]

        result = prom_query()
        theirs = {r["metric"]["svc"]: float(r["value"][1]) for r in result}
        evaluate_all(at)
        ours = dict(SLO.objects.values_list("service_id", "value"))
        mismatched = [s for s in theirs if abs(theirs[s] - ours[s]) > 1e-9]
        if len(theirs) != SMALL or mismatched:
            print(f"answers differ from Prometheus for {len(mismatched)} of {len(theirs)} series")
            return 1

        tick = iter(range(1, 10_000))  # each pass a little later than the last

        def our_pass():
            evaluate_all(at + timedelta(microseconds=next(tick)))

        prom_time = best_of(RUNS, prom_query)
        small_time = best_of(RUNS, our_pass)
        shift = iter(range(1, 100))

        def moving_pass():  # the window slides 5 s: most values change and are written
            evaluate_all(at + timedelta(seconds=STEP * next(shift)))

        moving_time = best_of(RUNS, moving_pass)
        # Back to the fixed instant: forget the last pass (the evaluator's fencing token).
        WorkerHeartbeat.objects.filter(name=EVALUATOR).delete()
        _create_slos(SMALL, LARGE, start)
        our_pass()  # the new SLOs' first transitions are written here, not timed
        large_time = best_of(RUNS, our_pass)
    finally:
        prometheus.stop()
    small_ratio, scale_ratio = small_time / prom_time, large_time / small_time
    print(f"samples per window per SLO       {WINDOW // STEP:>8}  (step {STEP} s, p95)")
    print(f"Prometheus quantile_over_time    {prom_time * 1000:>8.1f} ms  ({SMALL:,} series)")
    print(
        f"evaluation pass, {SMALL:>6,} SLOs    {small_time * 1000:>8.1f} ms  "
        f"({small_ratio:.2f}x Prometheus, goal <= 3)"
    )
    print(
        f"  same, window sliding 5 s/pass  {moving_time * 1000:>8.1f} ms  "
        "(values change, so each pass writes them; for information)"
    )
    print(
        f"evaluation pass, {LARGE:>6,} SLOs   {large_time * 1000:>8.1f} ms  "
        f"({scale_ratio:.2f}x the {SMALL:,} pass, goal <= 11)"
    )
    print("answers equal to Prometheus's for all 1,000 series")
    return 0 if small_ratio <= 3 and scale_ratio <= 11 else 1


def main() -> int:
    teardown = django_on_scratch_database()
    if teardown is None:
        return 0
    try:
        with tempfile.TemporaryDirectory(prefix="bench-slo-") as workdir:
            return run(Path(workdir))
    finally:
        teardown()


if __name__ == "__main__":
    raise SystemExit(main())
