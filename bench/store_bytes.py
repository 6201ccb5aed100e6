"""Bytes per stored sample: the ``database`` store on PostgreSQL, raw and compacted.

Raw, through the store: 1,000,000 samples of 1,000 series (one service, label
``lane``), written in arrival order (every series once per 5-second tick, one
``write`` per tick, as the API would) into today's open partition. Its reference is
the previous layout (surrogate ``bigint`` id, its primary key and a ``(series, ts)``
index) holding the same rows, measured in the same run.

Compacted: a whole closed day of ``DAY_SERIES`` series at one sample every 5 s (17,280
a series, values pseudo-random with one decimal, laid in arrival order), measured raw
first, then after ``compaction.compact`` rewrote it as one ``ops_sample_block`` row
per (series, hour) — the same samples in both layouts. Every figure is
``pg_total_relation_size`` (heap, TOAST, indexes, free-space and visibility maps) of
every relation involved, after ``VACUUM ANALYZE``, divided by the samples.

Steady state with the default retention (``HMS_METRIC_RETENTION_DAYS`` = 30): thirty
closed days compacted (their emptied partitions included) and today raw — half a day
on average, a whole day plus the grace at worst. Goal: at most 50 bytes.
"""

import sys
import time
from datetime import UTC, datetime, timedelta

from bench import _support
from bench._support import django_on_scratch_database

SERIES = 1_000
TICKS = 1_000
STEP_SECONDS = 5
GOAL = 50.0
DAY_SERIES = 200
PARTITIONS = "SELECT inhrelid FROM pg_inherits WHERE inhparent = 'ops_sample'::regclass"


def _size(cursor, relations_sql: str) -> int:
    cursor.execute(
        f"SELECT coalesce(sum(pg_total_relation_size(r)), 0) FROM ({relations_sql}) AS x(r)"
    )
    return int(cursor.fetchone()[0])


def _raw_today(store, now) -> tuple[int, int]:
    """1,000 series x 1,000 ticks through the store; (rows, bytes of the partitions)."""
    from django.db import connection

    from ops.metrics.validation import ONE_MICROSECOND, UNIX_EPOCH

    keys = {("Bench_Scanner", "queue_time_seconds", f'{{"lane":"{i}"}}'): {"lane": str(i)}
            for i in range(SERIES)}  # fmt: skip
    first = now - timedelta(seconds=STEP_SECONDS * TICKS)
    first_us = (first - UNIX_EPOCH) // ONE_MICROSECOND
    for tick in range(TICKS):
        us = first_us + tick * STEP_SECONDS * 1_000_000
        rows = [(key, us, float((n * 7 + tick) % 400) / 10, {}) for n, key in enumerate(keys)]
        store.write(keys, [rows])
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE ops_sample")
        cursor.execute("SELECT count(*) FROM ops_sample")
        rows_stored = cursor.fetchone()[0]
        size = _size(cursor, PARTITIONS)
        cursor.execute(
            "SELECT c.relname, pg_relation_size(c.oid), pg_indexes_size(c.oid) "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'ops_sample'::regclass AND pg_relation_size(c.oid) > 0"
        )
        for name, heap, index in cursor.fetchall():
            print(
                f"  {name}: heap {heap / rows_stored:.1f} B/sample, key {index / rows_stored:.1f}"
            )
    assert rows_stored == SERIES * TICKS, rows_stored
    return rows_stored, size


def _legacy(rows_stored: int) -> float:
    from django.db import connection

    with connection.cursor() as cursor:  # the previous layout, same rows in the same order
        cursor.execute(
            "CREATE TABLE bench_sample_legacy (id bigserial PRIMARY KEY, series_id bigint "
            "NOT NULL, ts timestamptz NOT NULL, value double precision NOT NULL)"
        )
        cursor.execute("CREATE INDEX ON bench_sample_legacy (series_id, ts)")
        cursor.execute(
            "INSERT INTO bench_sample_legacy (series_id, ts, value) "
            "SELECT series_id, ts, value FROM ops_sample ORDER BY ts, series_id"
        )
        cursor.execute("VACUUM ANALYZE bench_sample_legacy")
        legacy = _size(cursor, "SELECT 'bench_sample_legacy'::regclass")
        cursor.execute("DROP TABLE bench_sample_legacy")
    return legacy / rows_stored


def _relations(cursor, names: list[str]) -> dict[str, int]:
    """pg_total_relation_size of each relation, its TOAST table and indexes included."""
    sizes = {}
    for name in names:
        cursor.execute("SELECT pg_total_relation_size(%s::regclass)", [name])
        sizes[name] = int(cursor.fetchone()[0])
    return sizes


def _closed_day(now) -> dict:
    """A whole closed day, measured raw and then compacted (the same samples)."""
    from django.db import connection

    from ops.metrics.store import compaction, partitions
    from ops.models import Series

    day = (now - timedelta(days=2)).date()
    part = partitions.name_of(day)
    start, _ = partitions.bounds(day)
    ids = list(Series.objects.order_by("id").values_list("id", flat=True)[:DAY_SERIES])
    per_day = 86400 // STEP_SECONDS
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(
            f"INSERT INTO {part} (series_id, ts, value) "
            "SELECT s, %s + t * interval '5 seconds', round((random() * 400)::numeric, 1) "
            "FROM generate_series(0, %s - 1) AS t, unnest(%s::bigint[]) AS s ORDER BY t, s",
            [start, per_day, ids],
        )
        cursor.execute(f"VACUUM ANALYZE {part}")
        raw = _relations(cursor, [part])
        samples = per_day * len(ids)
        began = time.perf_counter()
        moved = compaction.compact(now)
        seconds = time.perf_counter() - began
        assert moved == {part: samples}, moved
        cursor.execute(f"VACUUM ANALYZE {compaction.BLOCKS}")
        cursor.execute(f"VACUUM ANALYZE {part}")
        cursor.execute(
            "SELECT c.reltoastrelid::regclass::text FROM pg_class c WHERE c.relname = %s",
            [compaction.BLOCKS],
        )
        toast = cursor.fetchone()[0]
        compacted = _relations(cursor, [part, compaction.BLOCKS])
        compacted_parts = {
            "heap": _one(cursor, f"SELECT pg_relation_size('{compaction.BLOCKS}')"),
            "TOAST": _one(cursor, f"SELECT pg_total_relation_size('{toast}')"),
            "key": _one(cursor, f"SELECT pg_indexes_size('{compaction.BLOCKS}')"),
        }
        cursor.execute(f"SELECT count(*) FROM {compaction.BLOCKS}")
        blocks = cursor.fetchone()[0]
    return {"samples": samples, "raw": raw, "compacted": compacted, "blocks": blocks,
            "parts": compacted_parts, "seconds": seconds, "emptied": compacted[part]}  # fmt: skip


def _one(cursor, sql: str) -> int:
    cursor.execute(sql)
    return int(cursor.fetchone()[0])


def run() -> int:
    from django.conf import settings

    from ops.metrics.store import get_store
    from ops.services import register_service

    register_service(
        "id: Bench_Scanner\nowner: TSA\nsensors:\n  - name: queue_time_seconds\n"
        "slo:\n  target: queue_time_seconds\n  threshold: 30\n  window_seconds: 300\n"
    )
    store = get_store("database")
    now = datetime.now(UTC).replace(microsecond=0)
    store.maintain(now)
    rows_stored, size = _raw_today(store, now)
    raw_today = size / rows_stored
    reference = _legacy(rows_stored)
    day = _closed_day(now)
    n = day["samples"]
    raw_day = sum(day["raw"].values()) / n
    compacted = sum(day["compacted"].values()) / n
    print(f"raw, today through the store: {rows_stored:,} samples of {SERIES:,} series, "
          f"arrival order: {raw_today:.1f} bytes/sample")  # fmt: skip
    print(
        f"reference, previous layout (id + pkey + (series, ts) index): {reference:.1f} bytes/sample"
    )
    print(f"closed day: {n:,} samples of {DAY_SERIES} series every {STEP_SECONDS} s")
    for name, total in day["raw"].items():
        print(f"  raw       {name}: {total:,} bytes = {total / n:.1f} bytes/sample")
    for name, total in day["compacted"].items():
        print(f"  compacted {name}: {total:,} bytes = {total / n:.2f} bytes/sample")
    print("  blocks: " + ", ".join(f"{k} {v / n:.2f}" for k, v in day["parts"].items())
          + f" bytes/sample; {day['blocks']:,} rows (series x hour)")  # fmt: skip
    print(f"  compaction: {n / day['seconds']:,.0f} samples/s ({day['seconds']:.1f} s)")
    retention = settings.HMS_METRIC_RETENTION_DAYS
    grace_days = settings.HMS_METRIC_COMPACT_AFTER_HOURS / 24

    def steady(raw_days: float) -> float:
        return (retention * compacted + raw_days * raw_day) / (retention + raw_days)

    average, worst = steady(0.5), steady(1 + grace_days)
    print(f"steady state, {retention} days kept: {retention} compacted + today raw: "
          f"{average:.1f} bytes/sample (today half full), {worst:.1f} at worst "
          f"(today full + {settings.HMS_METRIC_COMPACT_AFTER_HOURS} h grace raw)")  # fmt: skip
    print(f"goal: <= {GOAL:g} bytes/sample -> {'met' if worst <= GOAL else 'MISSED'}")
    met = _support.record(
        "bytes per stored sample, database store on PostgreSQL",
        f"{average:.1f} bytes steady ({worst:.1f} worst; compacted {compacted:.1f}, "
        f"raw {raw_day:.1f})",
        f"<= {GOAL:g}",
        worst <= GOAL,
    )
    return 0 if met else 1


def main() -> int:
    teardown = django_on_scratch_database("store_bytes")
    if teardown is None:
        return 0
    try:
        return run()
    finally:
        teardown()


if __name__ == "__main__":
    sys.exit(main())
