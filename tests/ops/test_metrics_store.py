"""The metrics store contract (ops/metrics/store/base.py), run on every store.

The ``store`` fixture is parametrized by ``STORE_NAMES``; a store joins the suite by
adding its name there (and whatever it needs started in its fixture branch). Tests
about one engine's storage (PostgreSQL partitions) follow at the end.
"""

import statistics
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ops.metrics import labels_key
from ops.metrics.store import (
    CountQuery,
    StoreRefused,
    StoreUnavailable,
    WindowQuery,
    compaction,
    get_store,
    percentile_statistic,
)
from tests.factories import make_service

pytestmark = pytest.mark.django_db

STORE_NAMES = ["database", "database:compacted", "database:mixed", "prometheus"]
# ``database:compacted``: every batch the tests write is compacted into hourly blocks
# (PostgreSQL, ops/metrics/store/compaction.py) before the reads; ``database:mixed``:
# half of each batch compacted, the other half written raw after it (late samples).
LAYOUT = {"name": "raw"}
SERVICE, METRIC = "DCA_Luggage_Scanner", "queue_time_seconds"
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.fixture(params=STORE_NAMES)
def store(request, settings, monkeypatch):
    if request.param == "prometheus":  # the real Prometheus on loopback, emptied
        request.getfixturevalue("prometheus_store")
    name, _, layout = request.param.partition(":")
    if layout and connection.vendor != "postgresql":
        pytest.skip("SQLite keeps a plain table: no compaction")
    if layout:
        # Every day up to two days ahead counts as closed: today's samples get compacted.
        settings.HMS_METRIC_COMPACT_AFTER_HOURS = -72
    monkeypatch.setitem(LAYOUT, "name", layout or "raw")
    settings.HMS_METRICS_STORE = name
    make_service()
    return get_store()


def _us(ts: datetime) -> int:
    return (ts - UNIX_EPOCH) // timedelta(microseconds=1)


def write(store, points, service=SERVICE, metric=METRIC, labels=None):
    """Write ``[(ts, value)]`` of one series in one batch."""
    labels = labels or {}
    key = (service, metric, labels_key(labels))
    rows = [(key, _us(ts), float(value), labels) for ts, value in points]
    if LAYOUT["name"] == "raw":
        return store.write({key: labels}, [rows])
    if LAYOUT["name"] == "compacted":
        written = store.write({key: labels}, [rows])
        _compact(rows)
        return written
    written = store.write({key: labels}, [rows[0::2]])  # mixed
    _compact(rows[0::2])
    return written + store.write({key: labels}, [rows[1::2]])


def _compact(rows):
    """Compact what was just written: every distinct instant of it moves (in these tests
    every sample falls in a day partition), no raw row is left."""
    moved = compaction.compact(timezone.now())
    assert sum(moved.values()) >= len({row[1] for row in rows})
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ops_sample")
        assert cursor.fetchone()[0] == 0


def stats(store, *queries):
    return store.window_stats(list(queries))


def at_second(now=None):
    return (now or timezone.now()).replace(microsecond=0)


@pytest.mark.parametrize("pct", [50, 90, 95, 99, 99.9, 12.5])
def test_percentile_interpolates_as_percentile_cont(store, pct):
    now = at_second()
    values = [3.5, 1.0, 7.25, 2.0, 9.0, 4.0, 11.5, 6.0, 0.5, 8.0, 5.5]
    write(store, [(now - timedelta(seconds=i), v) for i, v in enumerate(values)])
    (stat,) = stats(store, WindowQuery(SERVICE, METRIC, 300, now, percentile_statistic(pct)))
    ordered = sorted(values)
    position = (len(ordered) - 1) * pct / 100
    low = int(position)
    expected = ordered[low] + (ordered[min(low + 1, 10)] - ordered[low]) * (position - low)
    if pct in (50, 90, 95, 99):
        assert expected == pytest.approx(
            statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]
        )
    assert stat.value == pytest.approx(expected)
    assert stat.samples == 11
    assert stat.newest == now


def test_every_aggregate_count_and_newest(store):
    now = at_second()
    write(store, [(now - timedelta(seconds=40), 1.0), (now - timedelta(seconds=20), 7.0)])
    write(store, [(now - timedelta(seconds=30), 4.0), (now - timedelta(seconds=10), 2.0)])
    expected = {"avg": 3.5, "min": 1.0, "max": 7.0, "sum": 14.0, "count": 4.0, "last": 2.0}
    answers = stats(store, *(WindowQuery(SERVICE, METRIC, 300, now, s) for s in expected))
    assert {a.query.statistic: a.value for a in answers} == expected
    assert {(a.samples, a.newest) for a in answers} == {(4, now - timedelta(seconds=10))}


def test_window_is_open_on_the_left_and_closed_on_the_right(store):
    now = at_second()
    write(
        store,
        [
            (now - timedelta(seconds=60), 100.0),  # exactly at the start: out
            (now - timedelta(seconds=59), 1.0),
            (now, 2.0),  # exactly at ``at``: in
            (now + timedelta(seconds=1), 300.0),  # after ``at``: out
        ],
    )
    (stat,) = stats(store, WindowQuery(SERVICE, METRIC, 60, now, "max"))
    assert (stat.value, stat.samples, stat.newest) == (2.0, 2, now)


@pytest.mark.parametrize("statistic", ["p95", "avg", "count", "sum", "last", "min"])
def test_an_empty_window_is_no_data_not_zero(store, statistic):
    now = at_second()
    write(store, [(now - timedelta(minutes=30), 5.0)])  # before the window
    (stat,) = stats(store, WindowQuery(SERVICE, METRIC, 300, now, statistic))
    assert (stat.value, stat.samples, stat.newest) == (None, 0, None)
    (unknown,) = stats(store, WindowQuery("No_Such_Service", METRIC, 300, now, statistic))
    assert (unknown.value, unknown.samples, unknown.newest) == (None, 0, None)


def test_label_sets_of_one_metric_are_read_together(store):
    now = at_second()
    write(store, [(now - timedelta(seconds=5), 10.0)], labels={"lane": "1"})
    write(store, [(now - timedelta(seconds=6), 20.0)], labels={"lane": "2"})
    write(store, [(now - timedelta(seconds=7), 30.0)])
    (stat,) = stats(store, WindowQuery(SERVICE, METRIC, 300, now, "sum"))
    assert (stat.value, stat.samples) == (60.0, 3)


def test_many_series_and_windows_in_one_call_in_a_bounded_number_of_statements(store):
    now = at_second()
    services = [f"Scanner_{i}" for i in range(12)]
    for i, service in enumerate(services):
        make_service(service)
        write(store, [(now - timedelta(seconds=s), i * 100 + s) for s in range(1, 31)], service)
    queries = [
        WindowQuery(service, METRIC, window, now, statistic, key=(service, window, statistic))
        for service in services
        for window in (10, 20)
        for statistic in ("p50", "max", "count", "p99")
    ]
    with CaptureQueriesContext(connection) as captured:
        answers = store.window_stats(queries)
    assert len(captured) <= 2  # percentiles and aggregates, whatever the number of queries
    assert [a.query for a in answers] == queries  # the same order, keys kept
    by_key = {a.query.key: a for a in answers}
    for i, service in enumerate(services):
        assert by_key[(service, 10, "max")].value == i * 100 + 9  # (now - 10 s, now]: 1..9 s
        assert by_key[(service, 10, "count")].value == 9
        assert by_key[(service, 20, "count")].samples == 19
        assert by_key[(service, 20, "p50")].value == pytest.approx(i * 100 + 10)
        assert by_key[(service, 10, "p99")].newest == now - timedelta(seconds=1)


def test_window_values_answer_as_window_stats_in_as_few_statements(store):
    now = at_second()
    for service in ("Scanner_A", "Scanner_B"):
        make_service(service)
        write(store, [(now - timedelta(seconds=s), float(s % 7)) for s in range(1, 41)], service)
    write(store, [(now - timedelta(seconds=3), 50.0)], "Scanner_A", labels={"lane": "2"})
    queries = [
        (service, METRIC, window, at, statistic)
        for service in ("Scanner_A", "Scanner_B", "No_Such_Service")
        for window in (10, 30)
        for at in (now, now - timedelta(seconds=5))
        for statistic in ("p95", "p50", "max", "count", "last")
    ]
    expected = [
        (a.value, a.samples) for a in store.window_stats([WindowQuery(*q) for q in queries])
    ]
    with CaptureQueriesContext(connection) as captured:
        assert store.window_values(queries) == expected
    assert len(captured) <= 2  # percentiles and aggregates, as window_stats
    with pytest.raises(ValueError):
        store.window_values([("Scanner_A", METRIC, 30, now, "p0")])
    with pytest.raises(ValueError):
        store.window_values([("Scanner_A", METRIC, 0, now, "p95")])


def test_window_join_answers_as_window_values_inside_a_callers_statement(store):
    """The store's windows joined into the caller's own statement (the SLO tick's), for
    the windows starting at or after the join's ``since``; the others are the caller's
    to read through ``window_values``."""
    join = store.window_join()
    if store.name != "database" or connection.vendor != "postgresql":
        assert join is None
        return
    now = at_second()
    write(store, [(now - timedelta(seconds=s), float(s % 7)) for s in range(1, 41)])
    write(store, [(now - timedelta(seconds=3), 50.0)], labels={"lane": "2"})
    queries = [
        (service, METRIC, window, at, statistic)
        for service in (SERVICE, "No_Such_Service")
        for window in (1, 10, 30, 3 * 86400)
        for at in (now, now - timedelta(seconds=5))
        for statistic in ("p95", "p50", "p99.9")
    ]
    expected = store.window_values(queries)
    inside = [
        (q, e)
        for q, e in zip(queries, expected, strict=True)
        if q[3] - timedelta(seconds=q[2]) >= join.since
    ]
    assert len(inside) == (0 if LAYOUT["name"] != "raw" else 2 * 3 * 2 * 3)  # 3 days: before
    if not inside:
        return
    columns = list(
        zip(*[(q[0], q[2], q[3], float(q[4][1:]) / 100) for q, _ in inside], strict=True)
    )
    lateral = join.lateral(
        "q.service", f"'{METRIC}'", "q.at - q.seconds * interval '1 second'", "q.at", "q.frac"
    )
    sql = (
        "SELECT w.n, w.v FROM unnest(%s::text[], %s::int[], %s::timestamptz[], %s::float8[]) "
        "WITH ORDINALITY AS q(service, seconds, at, frac, o) "
        f"CROSS JOIN {lateral} AS w ORDER BY q.o"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(c) for c in columns])
        answers = [(v, n) for n, v in cursor.fetchall()]
    assert answers == [e for _, e in inside]
    assert any(n for _, n in answers) and any(n == 0 for _, n in answers)


def test_count_above_counts_all_and_strictly_above_for_each_start(store):
    now = at_second()
    make_service("Other_Scanner")
    # one sample a minute for 60 minutes; every tenth is bad (> 30), one sits at 30 exactly
    points = [(now - timedelta(minutes=m), 50.0 if m % 10 == 0 else 10.0) for m in range(60)]
    points[5] = (points[5][0], 30.0)
    write(store, points)
    write(store, [(now - timedelta(minutes=1), 99.0)], "Other_Scanner")
    starts = (now - timedelta(hours=1), now - timedelta(minutes=5), now - timedelta(minutes=15))
    queries = [
        CountQuery(SERVICE, METRIC, 30.0, starts, now, key="scanner"),
        CountQuery(SERVICE, METRIC, 5.0, starts[:1], now, key="low threshold"),
        CountQuery("Other_Scanner", METRIC, 30.0, starts, now, key="other"),
        CountQuery("No_Such_Service", METRIC, 30.0, starts, now, key="none"),
    ]
    with CaptureQueriesContext(connection) as captured:
        counted = store.count_above(queries)
    assert len(captured) <= 2  # one per distinct set of starts
    # (now - 1 h, now] holds minutes 0..59 (minute 60 is not written); bad: 0,10,..,50
    assert counted["scanner"] == [(60, 6), (5, 1), (15, 2)]
    assert counted["low threshold"] == [(60, 60)]
    assert counted["other"] == [(1, 1), (1, 1), (1, 1)]
    assert counted["none"] == [(0, 0), (0, 0), (0, 0)]


def test_buckets_give_one_value_per_step_for_many_metrics(store):
    hour = at_second().replace(minute=0, second=0) - timedelta(hours=1)
    make_service("Other_Scanner")
    write(store, [(hour + timedelta(seconds=s), float(s)) for s in (5, 30, 59, 60, 119)])
    write(store, [(hour + timedelta(seconds=10), 7.0)], "Other_Scanner")
    metrics = [(SERVICE, METRIC), ("Other_Scanner", METRIC), ("No_Such_Service", METRIC)]
    graphs = store.buckets(metrics, hour, hour + timedelta(hours=1), 60)
    base = int(hour.timestamp())
    assert graphs[(SERVICE, METRIC)] == {base: 59.0, base + 60: 119.0}
    assert graphs[("Other_Scanner", METRIC)] == {base: 7.0}
    assert ("No_Such_Service", METRIC) not in graphs
    averaged = store.buckets(metrics[:1], hour, hour + timedelta(hours=1), 3600, "avg")
    assert averaged == {(SERVICE, METRIC): {base: pytest.approx((5 + 30 + 59 + 60 + 119) / 5)}}


def test_points_per_label_set_oldest_first_newest_kept_when_truncated(store):
    now = at_second()
    write(store, [(now - timedelta(seconds=s), float(s)) for s in (1, 3, 5)], labels={"lane": "a"})
    write(store, [(now - timedelta(seconds=s), float(s)) for s in (2, 4)], labels={"lane": "b"})
    found = store.points(SERVICE, METRIC, now - timedelta(minutes=1), now, limit=10)
    assert not found.truncated
    by_lane = {s.labels["lane"]: s.points for s in found.series}
    assert by_lane["a"] == [(now - timedelta(seconds=s), float(s)) for s in (5, 3, 1)]
    assert by_lane["b"] == [(now - timedelta(seconds=s), float(s)) for s in (4, 2)]
    newest = store.points(SERVICE, METRIC, now - timedelta(minutes=1), now, limit=3)
    assert newest.truncated
    assert sorted(v for s in newest.series for _, v in s.points) == [1.0, 2.0, 3.0]
    assert store.points("No_Such_Service", METRIC, now - timedelta(minutes=1), now, 10).series == []


def test_a_write_is_all_or_nothing(store):
    now = at_second()
    key = (SERVICE, METRIC, "{}")

    def chunks():
        yield [(key, _us(now - timedelta(seconds=s)), 1.0, {}) for s in range(1, 1001)]
        raise ValueError("sample 1000: value must be a finite number")

    with pytest.raises(ValueError, match="sample 1000"):
        store.write({key: {}}, chunks())
    (stat,) = stats(store, WindowQuery(SERVICE, METRIC, 3600, now, "count"))
    assert stat.samples == 0


def test_a_second_sample_for_the_same_instant_replaces_the_first(store):
    now = at_second()
    write(store, [(now - timedelta(seconds=2), 1.0), (now - timedelta(seconds=1), 2.0)])
    # a batch resent (its answer lost), with one value changed, and a duplicate inside it
    resent = [
        (now - timedelta(seconds=2), 1.0),
        (now - timedelta(seconds=1), 5.0),
        (now, 7.0),
        (now, 8.0),
    ]
    queries = (
        WindowQuery(SERVICE, METRIC, 60, now, "count"),
        WindowQuery(SERVICE, METRIC, 60, now, "sum"),
    )
    if store.name == "prometheus":
        # Prometheus keeps the first value of a stored timestamp and refuses another one:
        # the whole batch is refused (the API's 409), nothing of it stored.
        with pytest.raises(StoreRefused, match="duplicate sample for timestamp"):
            write(store, resent)
        assert [a.value for a in stats(store, *queries)] == [2.0, 1.0 + 2.0]
        write(store, [(now, 7.0), (now, 8.0)])  # inside one batch the later one wins
        assert [a.value for a in stats(store, *queries)] == [3.0, 1.0 + 2.0 + 8.0]
        return
    write(store, resent)
    answers = stats(store, *queries)
    assert [a.value for a in answers] == [3.0, 1.0 + 5.0 + 8.0]


def test_maintain_applies_the_retention(store, settings):
    settings.HMS_METRIC_RETENTION_DAYS = 7
    now = at_second()
    write(store, [(now - timedelta(days=9), 1.0), (now - timedelta(days=8), 2.0)])
    write(store, [(now - timedelta(days=6), 3.0), (now - timedelta(minutes=1), 4.0)])
    first = store.maintain(now)
    store.maintain(now)  # idempotent
    (kept,) = stats(store, WindowQuery(SERVICE, METRIC, 30 * 86400, now, "sum"))
    if store.name == "prometheus":
        # The engine's own retention (--storage.tsdb.retention.time) expires samples;
        # maintain drops nothing and says so instead of pretending.
        assert (first.dropped, first.deleted_rows) == ([], 0)
        assert "--storage.tsdb.retention.time" in first.note
        assert (kept.value, kept.samples) == (10.0, 4)
        return
    assert (kept.value, kept.samples) == (7.0, 2)


def test_get_store_picks_the_registered_class_by_name(settings):
    from ops.metrics.store import STORES, store_class

    settings.HMS_METRICS_STORE = "database"
    assert get_store().name == "database"
    assert "prometheus" in STORES
    with pytest.raises(ValueError, match="unknown metrics store 'influx'"):
        store_class("influx")


def test_a_window_query_refuses_an_unknown_statistic():
    with pytest.raises(ValueError, match="statistic must be one of"):
        WindowQuery(SERVICE, METRIC, 60, timezone.now(), "median")
    with pytest.raises(ValueError, match="statistic must be one of"):
        WindowQuery(SERVICE, METRIC, 60, timezone.now(), "p101")
    with pytest.raises(ValueError, match="window_seconds must be positive"):
        WindowQuery(SERVICE, METRIC, 0, timezone.now(), "p95")


def test_store_unavailable_is_a_503_with_retry_after(settings, monkeypatch):
    from ops.metrics.store import database
    from tests.factories import api_client

    registration = make_service()
    attempts = []

    def refuse(self, series, chunks):
        attempts.append([row for chunk in chunks for row in chunk])
        raise StoreUnavailable("remote write answered 503", retry_after=17)

    monkeypatch.setattr(database.DatabaseStore, "write", refuse)
    response = api_client().post(
        "/api/v1/metrics/",
        {"name": METRIC, "value": 1.0},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {registration.ingest_key}",
    )
    assert response.status_code == 503
    assert response["Retry-After"] == "17"
    assert "remote write answered 503" in response.json()["detail"]
    assert len(attempts) == 1  # no second attempt behind the sender's back


# --- the database store on PostgreSQL: day partitions -------------------------------

postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="day partitions are PostgreSQL's"
)


def _partitions():
    from ops.metrics.store import partitions

    with connection.cursor() as cursor:
        return set(partitions.partitions(cursor))


def _partition_of(series_ts_value):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM ops_sample WHERE value = %s", [series_ts_value]
        )
        return [row[0] for row in cursor.fetchall()]


@postgresql
def test_retention_drops_whole_day_partitions(settings):
    from ops.metrics.store import partitions

    settings.HMS_METRICS_STORE = "database"
    settings.HMS_METRIC_RETENTION_DAYS = 30
    # Raw partitions here (maintain compacts closed days: test_metrics_compaction.py).
    settings.HMS_METRIC_COMPACT_AFTER_HOURS = 24 * 365
    make_service()
    store = get_store()
    now = datetime(2031, 3, 15, 12, 0, tzinfo=UTC)
    created = store.maintain(now).created
    # the retention's days, today and the days ahead, one partition each
    assert len(created) == 30 + 1 + settings.HMS_METRIC_PARTITIONS_AHEAD
    assert partitions.name_of(now.date()) in created
    assert partitions.name_of((now + timedelta(days=3)).date()) in created
    write(store, [(now - timedelta(days=8), 1.0), (now - timedelta(days=6), 2.0)])
    old_day = partitions.name_of((now - timedelta(days=8)).date())
    assert _partition_of(1.0) == [old_day]
    settings.HMS_METRIC_RETENTION_DAYS = 7
    done = store.maintain(now)
    assert old_day in done.dropped and old_day not in _partitions()
    assert done.deleted_rows == 0  # no row DELETE: the day went whole
    assert partitions.name_of((now - timedelta(days=6)).date()) in _partitions()
    assert _partition_of(2.0) == [partitions.name_of((now - timedelta(days=6)).date())]
    assert store.maintain(now).dropped == []  # idempotent


@postgresql
def test_a_sample_for_a_day_without_a_partition_is_kept_and_moved_when_its_day_comes(settings):
    from ops.metrics.store import partitions

    settings.HMS_METRICS_STORE = "database"
    make_service()
    store = get_store()
    later = datetime(2032, 7, 1, 8, 30, tzinfo=UTC)  # far past the partitions ahead
    day = partitions.name_of(later.date())
    assert day not in _partitions()
    write(store, [(later, 42.0), (later + timedelta(seconds=1), 43.0)])
    assert _partition_of(42.0) == [partitions.DEFAULT]
    (stat,) = stats(store, WindowQuery(SERVICE, METRIC, 60, later + timedelta(seconds=1), "sum"))
    assert (stat.value, stat.samples) == (85.0, 2)
    assert day in store.maintain(later).created  # the beat's hourly run on that day
    assert _partition_of(42.0) == [day] and _partition_of(43.0) == [day]
    (moved,) = stats(store, WindowQuery(SERVICE, METRIC, 60, later + timedelta(seconds=1), "sum"))
    assert (moved.value, moved.samples) == (85.0, 2)


@postgresql
def test_the_table_is_partitioned_by_day_keyed_on_series_and_time_with_the_value_inside():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_partkeydef('ops_sample'::regclass), "
            "pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'ops_sample'::regclass AND contype = 'p'"
        )
        partkey, primary_key = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'ops_sample' AND column_name = 'id'"
        )
        assert cursor.fetchone()[0] == 0
    assert partkey == "RANGE (ts)"
    assert primary_key == "PRIMARY KEY (series_id, ts) INCLUDE (value)"
    assert "ops_sample_default" in _partitions()


@postgresql
@pytest.mark.django_db(transaction=True)  # autocommit, as the evaluator reads
def test_the_window_statement_runs_without_jit(settings):
    settings.HMS_METRICS_STORE = "database"
    make_service()
    with CaptureQueriesContext(connection) as captured:
        get_store().window_stats([WindowQuery(SERVICE, METRIC, 60, timezone.now(), "p95")])
    (statement,) = captured.captured_queries
    assert statement["sql"].startswith("SET LOCAL jit = off; SELECT")
    with connection.cursor() as cursor:  # outside a transaction, SET LOCAL ended with it
        cursor.execute("SELECT current_setting('jit')")
        assert cursor.fetchone()[0] == "on"


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_existing_samples_and_back(settings):
    """An install with samples in the old table (surrogate id) migrates with its samples:
    one row per (series, ts), the later of two duplicates kept; and back again."""
    from django.db.migrations.executor import MigrationExecutor

    from ops.models import Sample, Series

    before = [("ops", "0007_merge_0005_slo_error_budget_0006_page_repeats")]
    after = [("ops", "0008_sample_partitioned_by_day")]
    make_service()
    series = Series.objects.create(service_id=SERVICE, name=METRIC)
    now = at_second()
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        with connection.cursor() as cursor:
            rows = [(now - timedelta(days=3), 1.0), (now, 2.0), (now, 3.0)]  # last: a duplicate
            rows += [(now - timedelta(seconds=s), 10.0 + s) for s in range(1, 51)]
            cursor.executemany(
                "INSERT INTO ops_sample (series_id, ts, value) VALUES (%s, %s, %s)",
                [(series.pk, ts, value) for ts, value in rows],
            )
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        kept = dict(Sample.objects.values_list("ts", "value"))
        assert len(kept) == 52
        assert kept[now] == 3.0  # the later row of the duplicate
        assert kept[now - timedelta(days=3)] == 1.0
        if connection.vendor == "postgresql":
            assert _partition_of(1.0) == [f"ops_sample_p{(now - timedelta(days=3)):%Y%m%d}"]
        executor = MigrationExecutor(connection)
        executor.migrate(before)  # the reverse keeps them too
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*), count(DISTINCT id) FROM ops_sample")
            assert cursor.fetchone() == (52, 52)
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
