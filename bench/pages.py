"""The war room and the dashboard with 1,000 services and 200 programs, beside 10 of each.

Each page is requested in-process through Django's test client (middleware,
view, queries, template rendering: everything the server does) as a superuser,
who sees every row. Every service has one SLO and an hour of readings (one a
minute); every program has two baselines with a deviation a day for 90 days.
Goal: at the large size, each page runs at most 10 SQL queries and renders in
at most 100 ms median. Both pages are paginated (the war room 30 tiles, the
dashboard 20 programs a page), so the figures are for the first page; the
polling JSON of the war room is measured too.
"""

import os
import statistics
import time
from datetime import timedelta

from bench._support import run_on_scratch_database

SMALL_SERVICES, SMALL_PROGRAMS = 10, 10
LARGE_SERVICES, LARGE_PROGRAMS = 1_000, 200
RUNS = 15
MAX_QUERIES, MAX_MEDIAN_MS = 10, 100.0
VERBOSE = bool(os.environ.get("BENCH_VERBOSE"))
PAGES = ("/war-room/", "/war-room/state.json", "/dashboard/")


def _services(first: int, last: int, now) -> None:
    from ops.models import SLO, Sample, Sensor, Series, Service

    ids = [f"S_{i:05d}" for i in range(first, last)]
    Service.objects.bulk_create(
        [Service(id=s, owner=f"owner-{i % 20}", document={}) for i, s in enumerate(ids)]
    )
    Sensor.objects.bulk_create([Sensor(service_id=s, name="m") for s in ids])
    SLO.objects.bulk_create(
        [
            SLO(
                service_id=s,
                target="m",
                threshold=50,
                window_seconds=300,
                state=("healthy", "breached", "no_data")[i % 3],
                value=None if i % 3 == 2 else float(i % 100),
                evaluated_at=now,
            )
            for i, s in enumerate(ids)
        ]
    )
    Series.objects.bulk_create([Series(service_id=s, name="m") for s in ids])
    series = Series.objects.filter(service_id__in=ids).values_list("id", flat=True)
    Sample.objects.bulk_create(
        [
            Sample(series_id=sid, ts=now - timedelta(minutes=k), value=float((sid * 7 + k) % 100))
            for sid in series
            for k in range(60)
        ],
        batch_size=5_000,
    )


def _programs(first: int, last: int, now) -> None:
    from apm.models import Baseline, Deviation, Program

    programs = Program.objects.bulk_create(
        [
            Program(code=f"p-{i:04d}", name=f"Program {i}", authority="Act §1")
            for i in range(first, last)
        ]
    )
    baselines = Baseline.objects.bulk_create(
        [
            Baseline(program=p, name=f"promise_{k}", target_value=14, probe_query="SELECT 1")
            for p in programs
            for k in range(2)
        ]
    )
    Deviation.objects.bulk_create(
        [
            Deviation(
                baseline=b,
                evaluated_at=now - timedelta(days=day),
                actual=10.0 + (b.pk + day) % 10,
                deviation_pct=float((b.pk + day) % 30),
                status="ok" if (b.pk + day) % 30 <= 20 else "breach",
                evidence={},
                trigger="schedule",
            )
            for b in baselines
            for day in range(90)
        ],
        batch_size=5_000,
    )


class _QueryLog:
    """Counts (and times) the SQL statements run through ``connection.execute_wrapper``."""

    def __init__(self):
        self.queries = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries.append(((time.perf_counter() - started) * 1000, sql))


def _measure(client) -> dict[str, tuple[int, float]]:
    from django.db import connection

    figures = {}
    for url in PAGES:
        captured = _QueryLog()
        with connection.execute_wrapper(captured):
            assert client.get(url).status_code == 200
        if VERBOSE:
            for ms, sql in captured.queries:
                print(f"  {ms:7.2f} ms  {sql[:150]}")
        captured = captured.queries
        times = []
        for _ in range(RUNS):
            started = time.perf_counter()
            answer = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200
        figures[url] = (len(captured), statistics.median(times))
    return figures


def run() -> int:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    now = timezone.now()
    client = Client()
    client.force_login(User.objects.create_superuser("bench_admin", password="pw"))
    _services(0, SMALL_SERVICES, now)
    _programs(0, SMALL_PROGRAMS, now)
    small = _measure(client)
    _services(SMALL_SERVICES, LARGE_SERVICES, now)
    _programs(SMALL_PROGRAMS, LARGE_PROGRAMS, now)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    large = _measure(client)

    print(f"{'page':24} {'10 svc/10 prog':>22} {'1,000 svc/200 prog':>22}   goal")
    ok = True
    for url in PAGES:
        (q_small, ms_small), (q_large, ms_large) = small[url], large[url]
        met = q_large <= MAX_QUERIES and q_small == q_large and ms_large <= MAX_MEDIAN_MS
        ok &= met
        print(
            f"{url:24} {q_small:4d} queries {ms_small:6.1f} ms"
            f" {q_large:4d} queries {ms_large:6.1f} ms"
            f"   {'met' if met else 'MISSED'} (≤ {MAX_QUERIES} queries, ≤ {MAX_MEDIAN_MS:g} ms)"
        )
    print("(first page of each: the war room shows 30 tiles a page, the dashboard 20 programs)")
    return 0 if ok else 1


def main() -> int:
    return run_on_scratch_database(run)


if __name__ == "__main__":
    raise SystemExit(main())
