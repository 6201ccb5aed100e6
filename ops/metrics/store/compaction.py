"""Compaction of closed day partitions into hourly blocks (``database`` store, PostgreSQL).

A heap row per sample costs ~52 bytes whatever the key, so a day partition that is
closed — its end at least ``HMS_METRIC_COMPACT_AFTER_HOURS`` (grace for late samples)
in the past — is rewritten as one row per (series, hour) in ``ops_sample_block``:
``ts timestamptz[]`` and ``vals float8[]`` in time order (the same microseconds and
values, so every read answers exactly as on raw rows; TOAST compresses the arrays).

One transaction per partition: lock the partition against writes (readers go on),
merge its rows into the blocks of their hours (a raw row replaces a block sample of
the same instant: last write wins), ``TRUNCATE`` it, commit. A crash before the
commit leaves the raw rows and no new blocks; a reader sees either the raw rows or
the blocks, never both, never neither (``TRUNCATE`` waits for running statements).

The emptied partition stays attached: a late sample for a compacted day lands there
as a raw row, reads union raw rows and blocks (a raw row hides a block sample of the
same instant), and the next compaction merges it into its block. Retention deletes
blocks of whole expired days, as it drops their partitions. SQLite: no compaction.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction

from ops.metrics.store import partitions

BLOCKS = "ops_sample_block"
# A read decides raw-only vs raw + blocks from the clock; a compaction committing in
# the next READ_MARGIN cannot reach a window starting after the read horizon.
READ_MARGIN = timedelta(minutes=30)


def _day_floor(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(UTC).date(), time(), tzinfo=UTC)


def _grace() -> timedelta:
    return timedelta(hours=settings.HMS_METRIC_COMPACT_AFTER_HOURS)


def compact_before(now: datetime) -> datetime:
    """Day partitions ending at or before this instant get compacted now."""
    return now - _grace()


def read_horizon(now: datetime) -> datetime:
    """No block holds a sample at or after this instant (now, nor for READ_MARGIN)."""
    return _day_floor(now - _grace() + READ_MARGIN)


def _literal(moment: datetime) -> str:
    return f"'{moment.astimezone(UTC).isoformat()}'::timestamptz"


def reaches_blocks(since: datetime, now: datetime | None = None) -> bool:
    """Whether a read from ``since`` on may need blocks (False: the hot path, raw only)."""
    if connection.vendor != "postgresql":
        return False
    return since < read_horizon(now or datetime.now(UTC))


def source(low, high, now: datetime | None = None, series: str | None = None) -> str:
    """A relation (series_id, ts, value) of raw rows and block samples, for ``FROM``.

    ``low``/``high`` bound the samples wanted (``(low, high]``, looser is fine): SQL
    expressions (``q.start``) or datetimes; they select the blocks by hour. ``series``:
    an SQL expression of the one series wanted (``se.id``, from the statement's series
    join); the relation is then ``LATERAL`` and each branch walks that series' key only.
    """
    horizon = _literal(read_horizon(now or datetime.now(UTC)))
    low = _literal(low) if isinstance(low, datetime) else low
    high = _literal(high) if isinstance(high, datetime) else high
    table = partitions.TABLE
    raw = f"WHERE series_id = {series} AND ts > {low} AND ts <= {high}" if series else ""
    block = f"AND b.series_id = {series} " if series else ""
    sid = series or "b.series_id"
    # A raw row < horizon is a late sample of a compacted day: it hides the block sample
    # of its instant. Looked for once per block (``late``), per sample only in a block
    # that has one.
    late = (
        f"SELECT EXISTS (SELECT 1 FROM {table} AS r WHERE r.series_id = {sid} "  # noqa: S608
        f"AND r.ts >= b.hour AND r.ts < b.hour + interval '1 hour' AND r.ts < {horizon}) "
        "OFFSET 0"  # once per block, not folded into the per-sample filter
    )
    return (
        f"{'LATERAL ' if series else ''}(SELECT series_id, ts, value FROM {table} {raw} "  # noqa: S608
        f"UNION ALL SELECT b.series_id, u.ts, u.value FROM {BLOCKS} AS b "
        f"CROSS JOIN LATERAL ({late}) AS l(late) "
        "CROSS JOIN LATERAL unnest(b.ts, b.vals) AS u(ts, value) "
        f"WHERE b.hour > {low} - interval '1 hour' AND b.hour <= {high} {block}"
        f"AND (NOT l.late OR NOT EXISTS (SELECT 1 FROM {table} AS r WHERE r.series_id = {sid} "
        f"AND r.ts = u.ts AND r.ts < {horizon})))"
    )


def samples(since: datetime, low=None, high=None, now: datetime | None = None) -> str:
    """The relation to read samples from ``since`` on: the plain table when ``since`` is
    after the read horizon (the tick's windows, the hot path), else ``source(low, high)``
    (``low`` defaults to ``since``, ``high`` to no bound)."""
    if not reaches_blocks(since, now):
        return partitions.TABLE
    low, high = since if low is None else low, "'infinity'" if high is None else high
    return source(low, high, now, series="se.id")


_MERGE = f"""
INSERT INTO {BLOCKS} (series_id, hour, ts, vals)
SELECT series_id, hour, array_agg(ts ORDER BY ts), array_agg(value ORDER BY ts)
FROM (
    SELECT DISTINCT ON (series_id, ts) series_id, hour, ts, value FROM (
        SELECT series_id, date_trunc('hour', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
            AS hour, ts, value, 0 AS rank FROM {{part}}
        UNION ALL
        SELECT b.series_id, b.hour, u.ts, u.value, 1 FROM {BLOCKS} AS b
        CROSS JOIN LATERAL unnest(b.ts, b.vals) AS u(ts, value)
        WHERE b.hour >= %(start)s AND b.hour < %(end)s AND (b.series_id, b.hour) IN (
            SELECT series_id, date_trunc('hour', ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
            FROM {{part}})
    ) AS x ORDER BY series_id, ts, rank
) AS merged
GROUP BY series_id, hour
ON CONFLICT (series_id, hour) DO UPDATE SET ts = EXCLUDED.ts, vals = EXCLUDED.vals
"""  # noqa: S608


def compact_partition(cursor, name: str) -> int:
    """Rewrite one day partition's rows as blocks and empty it; returns rows moved."""
    day = partitions.day_of(name)
    start, end = partitions.bounds(day)
    quoted = connection.ops.quote_name(name)
    with transaction.atomic():
        # Writers wait (a late sample cannot slip between the merge and the TRUNCATE);
        # readers go on until the TRUNCATE, which waits for the statements running.
        cursor.execute(f"LOCK TABLE {quoted} IN EXCLUSIVE MODE")
        cursor.execute(f"SELECT count(*) FROM {quoted}")  # noqa: S608
        moved = cursor.fetchone()[0]
        if not moved:
            return 0
        cursor.execute(_MERGE.format(part=quoted), {"start": start, "end": end})
        # Deferred FK checks of rows written earlier in this transaction block TRUNCATE.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(f"TRUNCATE {quoted}")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    return moved


def compact(now: datetime) -> dict[str, int]:
    """Compact every closed day partition holding raw rows: {partition: rows moved}."""
    if connection.vendor != "postgresql":
        return {}
    before = compact_before(now)
    done = {}
    with connection.cursor() as cursor:
        for name in partitions.partitions(cursor):
            day = partitions.day_of(name)
            if day is None or partitions.bounds(day)[1] > before:
                continue
            moved = compact_partition(cursor, name)
            if moved:
                done[name] = moved
    return done


def drop_expired(cutoff: datetime) -> int:
    """Delete the blocks of whole days older than ``cutoff`` (as their partitions)."""
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {BLOCKS} WHERE hour < %s", (_day_floor(cutoff),))  # noqa: S608
        return cursor.rowcount


def create_table_sql() -> list[str]:
    """The blocks table, for the migration."""
    return [
        f"""CREATE TABLE {BLOCKS} (
            series_id bigint NOT NULL,
            hour timestamptz NOT NULL,
            ts timestamptz[] NOT NULL,
            vals double precision[] NOT NULL,
            CONSTRAINT {BLOCKS}_pkey PRIMARY KEY (series_id, hour)
        )"""
    ]


def points(series_ids: list[int], since: datetime, until: datetime, limit: int) -> list[tuple]:
    """(series id, ts, value) in ``[since, until]``, newest first, at most ``limit``:
    the ``points`` read over raw rows and blocks."""
    relation = source(since - timedelta(microseconds=1), until)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT series_id, ts, value FROM {relation} AS smp "  # noqa: S608
            "WHERE series_id = ANY(%s) AND ts >= %s AND ts <= %s "
            "ORDER BY ts DESC, series_id DESC LIMIT %s",
            (series_ids, since, until, limit),
        )
        return cursor.fetchall()


def metric_samples(service: str, metric: str, low: datetime, high: datetime, limit: int):
    """(ts, value) of every label set of a metric in ``(low, high]``, oldest first, at
    most ``limit``: the backtest's read over raw rows and blocks."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT smp.ts, smp.value FROM ops_series AS se JOIN {samples(low, low, high)} AS smp "  # noqa: S608
            "ON smp.series_id = se.id WHERE se.service_id = %s AND se.name = %s "
            "AND smp.ts > %s AND smp.ts <= %s ORDER BY smp.ts LIMIT %s",
            (service, metric, low, high, limit),
        )
        return cursor.fetchall()
