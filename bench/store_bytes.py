"""Bytes per stored sample: the ``database`` store's day-partitioned table on PostgreSQL.

1,000,000 samples of 1,000 series (one service, label ``lane``), written in arrival
order (every series once per 5-second tick, one ``write`` per tick, as the API
would) through the store itself. The figure is ``pg_total_relation_size`` (heap,
primary key with the value inside, free-space and visibility maps) summed over the
partitions, after ``VACUUM ANALYZE``, divided by the rows. The reference is the
previous layout (surrogate ``bigint`` id, its primary key and a ``(series, ts)``
index) holding the same rows, measured in the same run. Goal: at most 50 bytes.
"""

import sys
from datetime import UTC, datetime, timedelta

from bench import _support
from bench._support import django_on_scratch_database

SERIES = 1_000
TICKS = 1_000
STEP_SECONDS = 5
GOAL = 50.0


def _size(cursor, relations_sql: str) -> int:
    cursor.execute(
        f"SELECT coalesce(sum(pg_total_relation_size(r)), 0) FROM ({relations_sql}) AS x(r)"
    )
    return int(cursor.fetchone()[0])


def run() -> int:
    from django.db import connection

    from ops.metrics.store import get_store
    from ops.metrics.validation import ONE_MICROSECOND, UNIX_EPOCH
    from ops.models import Series
    from ops.services import register_service

    register_service(
        "id: Bench_Scanner\nowner: TSA\nsensors:\n  - name: queue_time_seconds\n"
        "slo:\n  target: queue_time_seconds\n  threshold: 30\n  window_seconds: 300\n"
    )
    store = get_store("database")
    now = datetime.now(UTC).replace(microsecond=0)
    store.maintain(now)
    keys = {("Bench_Scanner", "queue_time_seconds", f'{{"lane":"{i}"}}'): {"lane": str(i)}
            for i in range(SERIES)}  # fmt: skip
    first = now - timedelta(seconds=STEP_SECONDS * TICKS)
    first_us = (first - UNIX_EPOCH) // ONE_MICROSECOND
    for tick in range(TICKS):
        us = first_us + tick * STEP_SECONDS * 1_000_000
        rows = [(key, us, float((n * 7 + tick) % 400) / 10, {}) for n, key in enumerate(keys)]
        store.write(keys, [rows])
    ids = list(Series.objects.values_list("id", flat=True))
    assert len(ids) == SERIES
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE ops_sample")
        cursor.execute("SELECT count(*) FROM ops_sample")
        rows_stored = cursor.fetchone()[0]
        partitions = "SELECT inhrelid FROM pg_inherits WHERE inhparent = 'ops_sample'::regclass"
        size = _size(cursor, partitions)
        cursor.execute(
            "SELECT c.relname, pg_relation_size(c.oid), pg_indexes_size(c.oid) "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'ops_sample'::regclass AND pg_relation_size(c.oid) > 0"
        )
        used = cursor.fetchall()
        # The previous layout, same rows in the same order.
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
    assert rows_stored == SERIES * TICKS, rows_stored
    per_sample = size / rows_stored
    reference = legacy / rows_stored
    for name, heap, index in used:
        print(f"  {name}: heap {heap / rows_stored:.1f} B/sample, key {index / rows_stored:.1f}")
    print(f"samples: {rows_stored:,} of {SERIES:,} series, arrival order")
    print(f"database store (day partitions, key (series_id, ts) INCLUDE (value)): "
          f"{per_sample:.1f} bytes/sample")  # fmt: skip
    print(
        f"reference, previous layout (id + pkey + (series, ts) index): {reference:.1f} bytes/sample"
    )
    print(f"goal: <= {GOAL:g} bytes/sample -> {'met' if per_sample <= GOAL else 'MISSED'}")
    met = _support.record(
        "bytes per stored sample, database store on PostgreSQL",
        f"{per_sample:.1f} bytes",
        f"<= {GOAL:g}",
        per_sample <= GOAL,
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
