"""The ``database`` store: samples in the application's own database.

PostgreSQL: ``ops_sample`` is partitioned by day (``partitions.py``), primary key
``(series_id, ts) INCLUDE (value)`` so a window read is an index-only scan, no
surrogate id. Writes are one binary ``COPY`` in the caller's transaction, or on its
own in autocommit when there is none and every series of the batch exists (one
statement is all-or-nothing by itself). SQLite: a plain table with the same key,
written with one ``INSERT … ON CONFLICT``.

Duplicates: the key makes (series, ts) unique and the last write wins, in a batch
too (the later sample of the two). ``COPY`` cannot resolve a conflict, so it runs
under a savepoint; when the key refuses a row (a client resending a batch whose
answer it lost, say), the COPY is rolled back and the same rows go in with one
``INSERT … SELECT unnest(…) ON CONFLICT DO UPDATE`` — only batches with duplicates
pay for that, and the batch still commits whole or not at all.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from ops.metrics.store import compaction, graph_reads, partitions, reads, window_sql
from ops.metrics.store.base import MaintenanceResult, MetricsStore, Row, SeriesKey
from ops.metrics.validation import UNIX_EPOCH
from ops.models import Sample, Series

PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in Unix microseconds
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no extension
COPY_TRAILER = b"\xff\xff"
_COPY_ROW = struct.Struct(">hiqiqid")
UNIQUE_VIOLATION = "23505"


def encode(rows) -> bytes:
    """(series id, microseconds since the Unix epoch, value) rows as binary COPY tuples.

    PostgreSQL's binary format: (int8, timestamptz, float8) per row, timestamptz being
    int64 microseconds since 2000-01-01 UTC; no per-row datetime objects. A whole COPY
    stream is ``COPY_HEADER``, the tuples, ``COPY_TRAILER``.
    """
    pack = _COPY_ROW.pack
    return b"".join([pack(3, 8, sid, 8, us - PG_EPOCH_US, 8, value) for sid, us, value in rows])


def _lookup(keys) -> dict[SeriesKey, int]:
    """{key: series id} of the keys whose series exist."""
    services = sorted({k[0] for k in keys})
    names = sorted({k[1] for k in keys})
    # Every ingest request runs this: written out, no ORM query building.
    sql = (
        f"SELECT id, service_id, name, labels_key FROM {Series._meta.db_table} "  # noqa: S608
        f"WHERE service_id IN ({', '.join(['%s'] * len(services))}) "
        f"AND name IN ({', '.join(['%s'] * len(names))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, services + names)
        found = {(service_id, name, lkey): pk for pk, service_id, name, lkey in cursor}
    return {key: found[key] for key in keys if key in found}


def series_ids(labels: dict[SeriesKey, dict]) -> dict[SeriesKey, int]:
    """{(service, name, labels_key): labels} -> {key: series id}, creating missing series."""
    keys = set(labels)
    found = _lookup(keys)
    missing = [k for k in keys if k not in found]
    if missing:
        Series.objects.bulk_create(
            [
                Series(service_id=k[0], name=k[1], labels_key=k[2], labels=labels[k])
                for k in missing
            ],
            ignore_conflicts=True,
        )
        found = _lookup(keys)
    return {k: found[k] for k in keys}


def _existing_ids(labels: dict[SeriesKey, dict]) -> dict[SeriesKey, int] | None:
    """{key: series id} when every series exists, else None (``series_ids`` creates them)."""
    found = _lookup(labels)
    return found if len(found) == len(labels) else None


def _is_unique_violation(exc: IntegrityError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == UNIQUE_VIOLATION


def _upsert_postgresql(cursor, rows: list[tuple[int, int, float]]) -> None:
    last = {(sid, us): value for sid, us, value in rows}  # the later of two duplicates wins
    cursor.execute(
        f"INSERT INTO {partitions.TABLE} (series_id, ts, value) "  # noqa: S608
        "SELECT s, to_timestamp(u / 1e6), v "
        "FROM unnest(%s::bigint[], %s::bigint[], %s::float8[]) AS r(s, u, v) "
        "ON CONFLICT (series_id, ts) DO UPDATE SET value = EXCLUDED.value",
        ([k[0] for k in last], [k[1] for k in last], list(last.values())),
    )


def _copy_postgresql(chunks: Iterable[list[Row]], ids: dict, done: list) -> None:
    """Binary COPY of the rows (in the caller's transaction); ``done`` keeps each chunk."""
    pack = _COPY_ROW.pack
    sql = f"COPY {partitions.TABLE} (series_id, ts, value) FROM STDIN (FORMAT BINARY)"
    # psycopg's own COPY: wrap_database_errors turns its errors into Django's (a dropped
    # connection is then an OperationalError, and the connection is marked unusable).
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(sql) as copy,
    ):
        copy.write(COPY_HEADER)
        for rows in chunks:
            done.append(rows)
            copy.write(
                b"".join([pack(3, 8, ids[k], 8, us - PG_EPOCH_US, 8, v) for k, us, v, _ in rows])
            )
        copy.write(COPY_TRAILER)


def _write_postgresql(series: dict[SeriesKey, dict], chunks: Iterable[list[Row]]) -> int:
    """One savepoint: series resolved, rows COPYed. When the key refuses a row (a duplicate),
    that savepoint is rolled back and the rows go in again with the upsert.

    Outside any transaction, when every series exists already (the usual batch), the
    lookup and the COPY run in autocommit: one COPY statement is all-or-nothing by
    itself, so BEGIN and COMMIT would be two round trips a request for nothing.
    """
    done: list[list[Row]] = []
    remaining = iter(chunks)
    try:
        if connection.get_autocommit() and (ids := _existing_ids(series)) is not None:
            _copy_postgresql(remaining, ids, done)
        else:
            with transaction.atomic():
                ids = series_ids(series)
                _copy_postgresql(remaining, ids, done)
    except IntegrityError as exc:
        if not _is_unique_violation(exc):
            raise
        done.extend(remaining)
        with transaction.atomic():
            ids = series_ids(series)
            with connection.cursor() as cursor:
                _upsert_postgresql(
                    cursor, [(ids[k], us, v) for rows in done for k, us, v, _ in rows]
                )
    return sum(len(rows) for rows in done)


def _write_sqlite(chunks: Iterable[list[Row]], ids: dict) -> int:
    to_db = connection.ops.adapt_datetimefield_value
    last: dict[tuple[int, int], float] = {}
    seen = 0
    for rows in chunks:
        seen += len(rows)
        for k, us, v, _ in rows:
            last[(ids[k], us)] = v
    params = [
        (sid, to_db(UNIX_EPOCH + timedelta(microseconds=us)), v) for (sid, us), v in last.items()
    ]
    with connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {partitions.TABLE} (series_id, ts, value) VALUES (%s, %s, %s) "  # noqa: S608
            "ON CONFLICT (series_id, ts) DO UPDATE SET value = excluded.value",
            params,
        )
    return seen


class DatabaseStore(MetricsStore):
    name = "database"

    def write(self, series: dict[SeriesKey, dict], chunks: Iterable[list[Row]]) -> int:
        if connection.vendor == "postgresql":
            return _write_postgresql(series, chunks)
        with transaction.atomic():
            return _write_sqlite(chunks, series_ids(series))

    def window_stats(self, queries):
        return reads.window_stats(queries)

    def window_values(self, queries):
        return reads.window_values(queries)

    def window_join(self):
        return window_sql.join() if connection.vendor == "postgresql" else None

    def count_above(self, queries):
        return reads.count_above(queries)

    def buckets(self, metrics, since, until, step_seconds, statistic="max"):
        return graph_reads.buckets(metrics, since, until, step_seconds, statistic)

    def points(self, service, metric, since, until, limit):
        return graph_reads.points(service, metric, since, until, limit)

    def maintain(self, now: datetime) -> MaintenanceResult:
        cutoff = now - timedelta(days=settings.HMS_METRIC_RETENTION_DAYS)
        if connection.vendor != "postgresql":
            deleted, _ = Sample.objects.filter(ts__lt=cutoff).delete()
            return MaintenanceResult(deleted_rows=deleted)
        created = partitions.ensure(now)
        dropped, deleted = partitions.drop_expired(cutoff)
        deleted += compaction.drop_expired(cutoff)
        compacted = compaction.compact(now)
        return MaintenanceResult(
            created=created, dropped=dropped, deleted_rows=deleted, compacted=compacted
        )
