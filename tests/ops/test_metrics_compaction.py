"""Compaction of closed day partitions into hourly blocks (ops/metrics/store/compaction.py).

Every read answers the same before and after compaction, with late samples mixed in;
a compaction that fails half-way leaves the raw rows; the tick's recent windows keep
the raw-only statement. The store suite (test_metrics_store.py) also runs every read
on compacted and mixed data.
"""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ops.metrics.store import CountQuery, WindowQuery, compaction, get_store, partitions
from tests.factories import make_service
from tests.ops.test_metrics_store import METRIC, SERVICE, at_second, write

pytestmark = pytest.mark.django_db
postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="compaction is the PostgreSQL store's"
)
STATISTICS = ("p50", "p95", "p99.9", "avg", "min", "max", "sum", "count", "last")


@pytest.fixture
def store(settings):
    settings.HMS_METRICS_STORE = "database"
    settings.HMS_METRIC_COMPACT_AFTER_HOURS = 2
    make_service()
    return get_store()


def _history(store, now):
    """Three days of a sample every 7 minutes on two label sets, and today's last hour."""
    start = now - timedelta(days=3)
    for lane in ("a", "b"):
        points = [
            (start + timedelta(minutes=7 * i), float((i * 37 + len(lane)) % 101))
            for i in range(int(3 * 24 * 60 / 7))
        ]
        write(store, points, labels={"lane": lane})


def _reads(store, now):
    windows = [3 * 86400, 2 * 86400 + 3600, 86400, 300]
    queries = [WindowQuery(SERVICE, METRIC, w, now, s) for w in windows for s in STATISTICS]
    starts = tuple(now - timedelta(seconds=w) for w in windows)
    since = now - timedelta(days=3, hours=1)
    return {
        "stats": [(a.value, a.samples, a.newest) for a in store.window_stats(queries)],
        "values": store.window_values(
            [(q.service, q.metric, q.window_seconds, q.at, q.statistic) for q in queries]
        ),
        "counts": store.count_above([CountQuery(SERVICE, METRIC, 50.0, starts, now, key=1)]),
        "max": store.buckets([(SERVICE, METRIC)], since, now, 3600),
        "avg": store.buckets([(SERVICE, METRIC)], since, now, 600, "avg"),
        "points": store.points(SERVICE, METRIC, since, now, 10_000),
        "newest": store.points(SERVICE, METRIC, since, now, 25),
    }


def _raw_rows():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ops_sample")
        return cursor.fetchone()[0]


def _blocks():
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), coalesce(sum(cardinality(ts)), 0) FROM {compaction.BLOCKS}"
        )
        return cursor.fetchone()


@postgresql
def test_maintain_compacts_closed_days_and_every_read_answers_the_same(store):
    now = at_second()
    _history(store, now)
    before, raw = _reads(store, now), _raw_rows()
    assert before["stats"][0][1] > 1000 and before["newest"].truncated
    done = store.maintain(now).compacted
    today = partitions.name_of(now.date())
    assert today not in done  # the open day stays raw
    assert partitions.name_of((now - timedelta(days=2)).date()) in done
    blocks, in_blocks = _blocks()
    assert in_blocks == sum(done.values()) and in_blocks + _raw_rows() == raw
    assert blocks <= 2 * 24 * 3 + 2  # one row per series and hour
    assert _reads(store, now) == before
    assert store.maintain(now).compacted == {}  # idempotent: nothing raw left to compact


@postgresql
def test_late_samples_for_a_compacted_day_are_read_with_it_and_merged_next_time(store):
    now = at_second()
    _history(store, now)
    store.maintain(now)
    old = (now - timedelta(days=2)).replace(minute=0, second=0)
    (first,) = store.points(SERVICE, METRIC, old, old + timedelta(minutes=7), 10).series[:1]
    replaced_at, _ = first.points[0]
    write(store, [(replaced_at, 1000.0), (old + timedelta(seconds=1), 2000.0)], labels=first.labels)
    late = _reads(store, now)
    assert _raw_rows() >= 2  # in the emptied day partition, beside its blocks
    window = WindowQuery(SERVICE, METRIC, 86400, old + timedelta(hours=1), "max")
    samples_before_merge = store.window_stats([window])[0]
    assert samples_before_merge.value == 2000.0
    merged = store.maintain(now).compacted
    assert partitions.name_of(old.date()) in merged
    assert _reads(store, now) == late  # the late value replaced the block's, counted once
    (again,) = store.window_stats([window])
    assert (again.value, again.samples) == (2000.0, samples_before_merge.samples)


@postgresql
def test_a_compaction_failing_half_way_loses_nothing_and_moves_nothing(store):
    now = at_second()
    _history(store, now)
    before, raw = _reads(store, now), _raw_rows()

    def fail_at_truncate(execute, sql, params, many, context):
        if sql.startswith("TRUNCATE"):
            raise RuntimeError("worker killed")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail_at_truncate), pytest.raises(RuntimeError):
        store.maintain(now)
    assert _raw_rows() == raw and _blocks() == (0, 0)  # its transaction rolled back
    assert _reads(store, now) == before
    store.maintain(now)
    assert _blocks()[1] > 0 and _reads(store, now) == before


@postgresql
def test_retention_deletes_the_blocks_of_expired_days(store, settings):
    now = at_second()
    _history(store, now)
    store.maintain(now)
    settings.HMS_METRIC_RETENTION_DAYS = 1
    cutoff_day = (now - timedelta(days=1)).replace(hour=0, minute=0, second=0)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {compaction.BLOCKS} WHERE hour < %s", [cutoff_day])
        expired = cursor.fetchone()[0]
    assert expired > 0
    assert store.maintain(now).deleted_rows == expired
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(hour) FROM {compaction.BLOCKS}")
        assert cursor.fetchone()[0] >= cutoff_day
    (kept,) = store.window_stats([WindowQuery(SERVICE, METRIC, 10 * 86400, now, "min")])
    assert kept.newest is not None


@postgresql
def test_the_ticks_recent_windows_read_the_raw_table_only(store):
    now = at_second()
    with CaptureQueriesContext(connection) as recent:
        store.window_stats([WindowQuery(SERVICE, METRIC, 900, now, s) for s in ("p95", "avg")])
    assert len(recent) == 2
    assert all(compaction.BLOCKS not in q["sql"] for q in recent.captured_queries)
    with CaptureQueriesContext(connection) as long:
        store.window_stats([WindowQuery(SERVICE, METRIC, 3 * 86400, now, "p95")])
    assert compaction.BLOCKS in long.captured_queries[0]["sql"]


@postgresql
def test_a_long_window_does_not_send_the_short_ones_through_the_blocks(store):
    now = at_second()
    _history(store, now)
    short = [WindowQuery(SERVICE, METRIC, 300, now, s) for s in ("p95", "p50")]
    alone = [(a.value, a.samples, a.newest) for a in store.window_stats(short)]
    store.maintain(now)
    long = WindowQuery(SERVICE, METRIC, 3 * 86400, now, "p95")
    with CaptureQueriesContext(connection) as mixed:
        answers = store.window_stats([*short, long])
    assert [(a.value, a.samples, a.newest) for a in answers[:2]] == alone
    assert answers[2].samples > 1000  # the compacted days are read for the long one
    statements = [q["sql"] for q in mixed.captured_queries]
    assert len(statements) == 2  # raw rows for the short windows, raw + blocks for the long
    assert sum(compaction.BLOCKS in sql for sql in statements) == 1


@pytest.mark.skipif(connection.vendor == "postgresql", reason="SQLite's plain table")
def test_sqlite_keeps_its_plain_table(store):
    now = at_second()
    write(store, [(now - timedelta(days=2), 1.0)])
    assert store.maintain(now).compacted == {}
    assert not compaction.reaches_blocks(now - timedelta(days=30))
    (stat,) = store.window_stats([WindowQuery(SERVICE, METRIC, 3 * 86400, now, "sum")])
    assert stat.value == 1.0


@postgresql
def test_the_backtest_reads_compacted_days_too(store):
    from types import SimpleNamespace

    from ops import backtest

    now = at_second()
    _history(store, now)
    chosen = SimpleNamespace(service_id=SERVICE, target=METRIC, window_seconds=3600)
    since, until = now - timedelta(days=3), now - timedelta(days=1)
    before = backtest._samples(chosen, since, until)
    assert len(before[0]) > 500
    store.maintain(now)
    assert _blocks()[1] > 500 and backtest._samples(chosen, since, until) == before


@postgresql
@pytest.mark.django_db(transaction=True)
def test_the_migration_back_turns_blocks_into_rows_and_skips_a_deleted_series(store):
    """Blocks have no foreign key: a deleted series leaves its blocks (until retention).
    Migrating back copies the blocks of live series into raw rows and leaves those out
    (the whole suite once failed here on a block another test's series had left)."""
    from django.db.migrations.executor import MigrationExecutor

    from ops.models import Series

    now = at_second()
    _history(store, now)
    store.maintain(now)
    with connection.cursor() as cursor:  # earlier transactional tests may leave blocks
        cursor.execute(
            f"SELECT coalesce(sum(cardinality(b.ts)), 0) FROM {compaction.BLOCKS} AS b "
            "JOIN ops_series AS s ON s.id = b.series_id"
        )
        live_in_blocks = cursor.fetchone()[0]
    assert live_in_blocks > 0
    gone = Series.objects.create(service_id=SERVICE, name="gone_metric")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {compaction.BLOCKS} (series_id, hour, ts, vals) "
            "VALUES (%s, %s, ARRAY[%s]::timestamptz[], ARRAY[1.0]::float8[])",
            (gone.pk, now.replace(minute=0, second=0) - timedelta(days=2), now - timedelta(days=2)),
        )
    gone.delete()
    raw = _raw_rows()
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([("ops", "0010_merge_handoff_sdk_drops_partitions_min_samples")])
        assert _raw_rows() == raw + live_in_blocks
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
        with connection.cursor() as cursor:  # not a model's table: the flush leaves it
            cursor.execute(f"DELETE FROM {compaction.BLOCKS}")
