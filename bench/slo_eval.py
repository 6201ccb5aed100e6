"""The SLO tick (``ops.slo.evaluate_all``) vs Prometheus ``quantile_over_time`` on the same samples.

Data as ingest really writes it: every series gets a sample every ``STEP`` seconds for
24 hours, stored in ARRIVAL order (all series' samples of one instant, then the next
instant's), so one series' window is scattered over the table instead of lying on a
few pages. Every SLO is the p95 of its own series over 5 minutes; 1 % of the series
read 60-100 against a threshold of 50 (breached: their services' incidents are open),
the rest 0-40 (healthy), so the timed passes change values but no states.

The window MOVES every pass: pass n is at ``at0 + n * STEP``, so each window gains
a sample and loses one and every SLO's value is rewritten, as on a live tick.

Reference (same run, same samples, same instants): a private Prometheus (Debian 2.42)
backfilled with the 1,000 series by ``promtool tsdb create-blocks-from openmetrics``,
asked ONE grouped query ``quantile_over_time(0.95, m[5m])`` (all 1,000 series) over
keep-alive HTTP, JSON parsed. The two take turns pass by pass; each figure is the median
of ``PASSES`` passes. Before any figure, the evaluator's 1,000 values are checked equal
to Prometheus's answers (to 1e-9).

The history ENDS at the wall clock of the moment it is laid (the last instant is the
real now), so every timed window lies after the compaction read horizon
(``ops.metrics.store.compaction.read_horizon``) and the store reads raw rows only, as a
live tick does; the run checks that and refuses to print a figure otherwise (a window
from days ago would read the raw + block union, a path no live tick takes).

The 10,000-SLO figure is on its own layout of 10,000 series (same step, same 24 h,
arrival order, the table reloaded), so the ratio is the tick's scaling, not a cache.

Goals: 1,000-SLO tick <= 2 x Prometheus; 10,000-SLO tick <= 10 x the 1,000-SLO tick.
"""

import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import urllib3

from bench._support import django_on_scratch_database, record

STEP = int(os.environ.get("BENCH_SLO_STEP", "30"))  # seconds between samples of a series
HISTORY = 24 * 3600
WINDOW = 300
SMALL, LARGE = 1_000, 10_000
PASSES = int(os.environ.get("BENCH_SLO_PASSES", "11"))
GOAL_PROMETHEUS, GOAL_SCALE = 2.0, 10.0
THRESHOLD = 50


def _id(i: int) -> str:
    return f"S_{i:05d}"


def _breaching(i: int) -> bool:
    return i % 100 == 0


def _value(i: int, k: int) -> float:
    spread = ((i * 7919 + k * 104729) % 401) / 10  # 0.0 .. 40.0
    return spread + 60 if _breaching(i) else spread


def _document(service_id: str) -> dict:
    return {
        "id": service_id,
        "owner": "bench",
        "sensors": [{"name": "m"}],
        "slo": {"target": "m", "threshold": THRESHOLD, "window_seconds": WINDOW},
    }


def _services(first: int, last: int) -> None:
    """Services ``S_first .. S_last-1``, each with its sensor, series and one SLO."""
    from ops.models import SLO, Sensor, Series, Service

    ids = [_id(i) for i in range(first, last)]
    # A document that parses: a breach opens the service's incident (no playbook: no runs).
    Service.objects.bulk_create([Service(id=s, owner="bench", document=_document(s)) for s in ids])
    Sensor.objects.bulk_create([Sensor(service_id=s, name="m") for s in ids])
    # Healthy ones start healthy, as on a running system (the first pass would otherwise be
    # a mass change: bench.mass_breach's business); the breached 1 % change on the first
    # pass, untimed, and open their incidents.
    SLO.objects.bulk_create(
        [
            SLO(
                service_id=_id(i),
                target="m",
                threshold=THRESHOLD,
                window_seconds=WINDOW,
                **({} if _breaching(i) else {"state": SLO.State.HEALTHY}),
            )
            for i in range(first, last)
        ]
    )
    Series.objects.bulk_create([Series(service_id=s, name="m") for s in ids])


def _load_samples(count: int, start: int) -> int:
    """Replace the stored samples by 24 h of ``count`` series in arrival order; returns rows."""
    from django.db import connection

    from ops.metrics.ingest import COPY_HEADER, COPY_TRAILER, encode
    from ops.models import Sample, Series

    table = connection.ops.quote_name(Sample._meta.db_table)
    by_service = dict(Series.objects.values_list("service_id", "id"))
    series = [by_service[_id(i)] for i in range(count)]
    steps = HISTORY // STEP + 1
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {table}")
    sql = f"COPY {table} (series_id, ts, value) FROM STDIN (FORMAT BINARY)"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        copy.write(COPY_HEADER)
        for k in range(steps):  # one instant of every series, then the next instant
            us = (start + k * STEP) * 1_000_000
            copy.write(encode([(sid, us, _value(i, k)) for i, sid in enumerate(series)]))
        copy.write(COPY_TRAILER)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {table}")
    return steps * count


def _prometheus(workdir: Path, start: int):
    from tests.support.prometheus import PrometheusServer, Series, binaries_available

    missing = binaries_available()
    if missing:
        print(f"skipped: not installed: {missing}")
        return None
    steps = HISTORY // STEP + 1
    series = [
        Series("m", [(start + k * STEP, _value(i, k)) for k in range(steps)], (("svc", _id(i)),))
        for i in range(SMALL)
    ]
    return PrometheusServer(workdir, series).start()


def _ours():
    """Every SLO's stored value, by service (what the tick wrote)."""
    from ops.models import SLO

    return dict(SLO.objects.values_list("service_id", "value"))


def _layout(after: int = 0) -> tuple[int, float]:
    """(first sample, first pass) of 24 h of history ending at the wall clock now, in whole
    seconds, or later if ``after`` (the previous layout's first sample) needs it: the first
    pass must come after the previous layout's last one (an older pass changes nothing).
    The first pass falls between two samples (no boundary ties), with room for the untimed
    pass and the timed ones before the last sample."""
    start = max(int(time.time()) - HISTORY, after + (PASSES + 1) * STEP if after else 0)
    return start, start + HISTORY - (PASSES + 2) * STEP + 0.5


def _live(at0: float) -> bool:
    """Whether every timed window reads raw rows only (after the read horizon, as a live
    tick's), printing how far behind the wall clock the last pass lies."""
    from ops.metrics.store import compaction

    last = at0 + PASSES * STEP
    since = datetime.fromtimestamp(at0 - WINDOW, tz=UTC)
    # Negative only when the 10,000-SLO reload took less time than the 1,000-SLO passes.
    behind = time.time() - last
    live = not compaction.reaches_blocks(since)
    print(f"timed windows {since:%H:%M:%S} .. {datetime.fromtimestamp(last, tz=UTC):%H:%M:%S} "
          f"UTC, the last {behind:.0f} s before the wall clock, read horizon "
          f"{compaction.read_horizon(datetime.now(UTC)):%Y-%m-%d %H:%M} UTC: "
          f"{'raw rows only' if live else 'REACHES THE BLOCKS (not a live tick)'}")  # fmt: skip
    return live


def _turns(at0: float, steps: list) -> list[list[float]]:
    """Each step timed at the same moving instants, taking turns pass by pass."""
    times = [[] for _ in steps]
    for n in range(1, PASSES + 1):
        at = at0 + n * STEP
        for i, step in enumerate(steps):
            started = time.perf_counter()
            step(at)
            times[i].append(time.perf_counter() - started)
    return times


def run(workdir: Path) -> int:
    # The worker freezes its start-up heap once started (hms_site.celery); the benchmark
    # does the same with what it holds (Django, the app, the loading) before each timed
    # series, so the collector walks only what the passes allocate. gc stays on.
    from hms_site.celery import freeze_start_up_heap
    from ops.slo import evaluate_all

    def tick(at: float):
        evaluate_all(datetime.fromtimestamp(at, tz=UTC))

    start, at0 = _layout()
    loaded = time.perf_counter()
    prometheus = _prometheus(workdir, start)
    if prometheus is None:
        return 0
    print(f"Prometheus backfilled with {SMALL:,} series in {time.perf_counter() - loaded:.0f} s")
    pool = urllib3.PoolManager(maxsize=1)
    promql = f"quantile_over_time(0.95, m[{WINDOW // 60}m])"

    def prom_query(at: float) -> list:
        response = pool.request(
            "GET", f"{prometheus.url}/api/v1/query", fields={"query": promql, "time": str(at)}
        )
        assert response.status == 200, response.data[:300]
        return response.json()["data"]["result"]

    try:
        _services(0, SMALL)
        loaded = time.perf_counter()
        rows = _load_samples(SMALL, start)
        print(f"PostgreSQL: {rows:,} samples of {SMALL:,} series (arrival order) loaded "
              f"in {time.perf_counter() - loaded:.0f} s")  # fmt: skip
        if not _live(at0):
            return 1
        tick(at0)  # first pass: the breached 1 % open their incidents; not timed
        theirs = {r["metric"]["svc"]: float(r["value"][1]) for r in prom_query(at0)}
        ours = _ours()
        mismatched = [s for s in theirs if ours.get(s) is None or abs(theirs[s] - ours[s]) > 1e-9]
        if len(theirs) != SMALL or mismatched:
            print(f"answers differ from Prometheus for {len(mismatched)} of {len(theirs)} series")
            return 1
        print(f"answers equal to Prometheus's for all {SMALL:,} series at the first instant")
        freeze_start_up_heap()
        prom_times, small_times = _turns(at0, [prom_query, tick])
        last = at0 + PASSES * STEP
        theirs = {r["metric"]["svc"]: float(r["value"][1]) for r in prom_query(last)}
        ours = _ours()
        moved = sum(abs(theirs[s] - ours[s]) <= 1e-9 for s in theirs)
        if moved != SMALL:
            print(f"after the last moving pass only {moved} of {SMALL} values equal Prometheus's")
            return 1
    finally:
        prometheus.stop()

    _services(SMALL, LARGE)
    loaded = time.perf_counter()
    start, at1 = _layout(start)  # the same layout, laid again to end at the (later) wall clock
    rows = _load_samples(LARGE, start)
    print(f"PostgreSQL: {rows:,} samples of {LARGE:,} series (arrival order) reloaded "
          f"in {time.perf_counter() - loaded:.0f} s")  # fmt: skip
    if not _live(at1):
        return 1
    tick(at1)  # the new SLOs' first transitions (1 % breached) are written here, not timed
    freeze_start_up_heap()
    (large_times,) = _turns(at1, [tick])

    prom, small, large = (statistics.median(t) for t in (prom_times, small_times, large_times))
    print(f"samples per window per SLO     {WINDOW // STEP:>6}  (step {STEP} s, p95, 24 h stored)")
    for label, times in (
        (f"Prometheus, {SMALL:,} series", prom_times),
        (f"tick, {SMALL:,} SLOs", small_times),
        (f"tick, {LARGE:,} SLOs", large_times),
    ):
        ms = [t * 1000 for t in times]
        print(f"{label:28} median {statistics.median(ms):8.1f} ms  "
              f"min {min(ms):8.1f}  max {max(ms):8.1f}  ({PASSES} passes)")  # fmt: skip
    ok = record(
        f"SLO tick {SMALL:,} SLOs / Prometheus",
        f"{small / prom:.2f}x ({small * 1000:.1f} ms vs {prom * 1000:.1f} ms)",
        f"<= {GOAL_PROMETHEUS:g}",
        small / prom <= GOAL_PROMETHEUS,
    )
    ok &= record(
        f"SLO tick {LARGE:,} / {SMALL:,} SLOs",
        f"{large / small:.2f}x ({large * 1000:.1f} ms vs {small * 1000:.1f} ms)",
        f"<= {GOAL_SCALE:g}",
        large / small <= GOAL_SCALE,
    )
    return 0 if ok else 1


def main() -> int:
    teardown = django_on_scratch_database("slo_eval")
    if teardown is None:
        return 0
    try:
        with tempfile.TemporaryDirectory(prefix="bench-slo-") as workdir:
            return run(Path(workdir))
    finally:
        teardown()


if __name__ == "__main__":
    raise SystemExit(main())
