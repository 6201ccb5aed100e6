"""Storing samples: one sensor check, series resolution, one writer (binary COPY on
PostgreSQL, bulk_create on SQLite), retention."""

from __future__ import annotations

import struct
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ops.metrics.validation import (
    MAX_REPORTED_ERRORS,
    UNIX_EPOCH,
    IngestError,
    IngestForbidden,
    SampleError,
    Window,
    check_sample,
    labels_key,
    samples_of,
    validate,
)
from ops.models import Sample, Sensor, Series

PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in Unix microseconds
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no extension
COPY_TRAILER = b"\xff\xff"
_COPY_ROW = struct.Struct(">hiqiqid")
_CHUNK = 1000


def check_sensors(names: list[tuple], batch: bool, restrict_service: str | None) -> None:
    """Every ``(service, name)`` must be a declared sensor the caller may write.

    Raises ``IngestForbidden`` (another service than the ingest key's) or ``IngestError``
    naming each unknown service or sensor by sample index (``names`` in sample order).
    """
    pairs = set(names)
    services = {service for service, _ in pairs}
    if restrict_service is not None and services != {restrict_service}:
        index = next(i for i, (service, _) in enumerate(names) if service != restrict_service)
        where = f"sample {index}: " if batch else ""
        raise IngestForbidden(f"{where}this ingest key may only write service {restrict_service!r}")
    known = set(Sensor.objects.filter(service_id__in=services).values_list("service_id", "name"))
    if pairs <= known:
        return
    found = {service for service, _ in known}
    errors = {}
    for index, (service, name) in enumerate(names):
        if service not in found:
            errors[str(index)] = {"service": [f"unknown service {service!r}"]}
        elif (service, name) not in known:
            errors[str(index)] = {"name": [f"{name!r} is not a sensor of service {service!r}"]}
        if len(errors) >= MAX_REPORTED_ERRORS:
            break
    raise IngestError({"samples": errors} if batch else errors["0"])


def _series_ids(labels: dict[tuple, dict]) -> dict[tuple, int]:
    """{(service, name, labels_key): labels} -> {key: series id}, creating missing series."""
    keys = set(labels)

    def lookup():
        services = {k[0] for k in keys}
        names = {k[1] for k in keys}
        found = {}
        for pk, service_id, name, lkey in Series.objects.filter(
            service_id__in=services, name__in=names
        ).values_list("id", "service_id", "name", "labels_key"):
            found[(service_id, name, lkey)] = pk
        return found

    found = lookup()
    missing = [k for k in keys if k not in found]
    if missing:
        Series.objects.bulk_create(
            [
                Series(service_id=k[0], name=k[1], labels_key=k[2], labels=labels[k])
                for k in missing
            ],
            ignore_conflicts=True,
        )
        found = lookup()
    return {k: found[k] for k in keys}


def encode(rows) -> bytes:
    """(series id, microseconds since the Unix epoch, value) rows as binary COPY tuples.

    PostgreSQL's binary format: (int8, timestamptz, float8) per row, timestamptz being
    int64 microseconds since 2000-01-01 UTC; no per-row datetime objects. A whole COPY
    stream is ``COPY_HEADER``, the tuples, ``COPY_TRAILER``.
    """
    pack = _COPY_ROW.pack
    return b"".join([pack(3, 8, sid, 8, us - PG_EPOCH_US, 8, value) for sid, us, value in rows])


def _write(chunks, ids: dict[tuple, int]) -> None:
    """Store each chunk of checked rows ``[(series key, ts_us, value, labels)]`` as it comes.

    On PostgreSQL one binary COPY takes every chunk, so checking the next chunk (when
    ``chunks`` checks lazily) overlaps the database's work on the last one. A
    ``SampleError`` (or KeyError) from ``chunks`` aborts it; the caller's transaction
    then rolls back whatever was written.
    """
    if connection.vendor != "postgresql":
        for rows in chunks:
            Sample.objects.bulk_create(
                [
                    Sample(series_id=ids[k], ts=UNIX_EPOCH + timedelta(microseconds=us), value=v)
                    for k, us, v, _ in rows
                ],
                batch_size=500,
            )
        return
    table = connection.ops.quote_name(Sample._meta.db_table)
    sql = f"COPY {table} (series_id, ts, value) FROM STDIN (FORMAT BINARY)"
    # psycopg's own COPY: wrap_database_errors turns its errors into Django's (a dropped
    # connection is then an OperationalError, and the connection is marked unusable).
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(sql) as copy,
    ):
        copy.write(COPY_HEADER)
        for rows in chunks:
            copy.write(encode([(ids[k], us, v) for k, us, v, _ in rows]))
        copy.write(COPY_TRAILER)


def _chunks(samples: list, size: int = _CHUNK):
    return (samples[start : start + size] for start in range(0, len(samples), size))


def _series_keys(samples: list, default_service) -> dict[tuple, dict] | None:
    """{(service, name, labels_key): labels} named by the samples, or None when a sample is
    too malformed to say (the validator then explains what is wrong)."""
    keys: dict[tuple, dict] = {}
    try:
        for raw in samples:
            if type(raw) is not dict:
                return None
            labels = raw.get("labels") or {}
            if type(labels) is not dict:
                return None
            key = (raw.get("service", default_service), raw.get("name"), labels_key(labels))
            if key not in keys:
                if type(key[0]) is not str or type(key[1]) is not str:
                    return None
                keys[key] = labels
    except TypeError:  # unhashable service/name, unsortable labels
        return None
    return keys


def ingest(
    payload,
    *,
    default_service: str | None = None,
    restrict_service: str | None = None,
    now: datetime | None = None,
) -> int:
    """Validate and store a sample or ``{"samples": [...]}``; returns the number stored.

    ``restrict_service`` (an ingest key's service) refuses samples of any other
    service with ``IngestForbidden``; ``default_service`` fills a missing ``service``.
    All-or-nothing: one bad sample and nothing is stored.

    A clean batch is checked once: its series are resolved from the samples' keys
    and their sensors checked, then samples are checked and streamed into the writer
    in one pass. Anything wrong (or any doubt) rolls that back, and the same validator
    and sensor check run over the whole request first, naming each bad sample by index
    and field.
    """
    window = Window(now or timezone.now())
    samples, batch = samples_of(payload)
    keys = _series_keys(samples, default_service)
    if keys is not None:
        try:
            check_sensors([(service, name) for service, name, _ in keys], batch, restrict_service)
            with transaction.atomic():
                checked = (
                    [check_sample(raw, default_service, window) for raw in chunk]
                    for chunk in _chunks(samples)
                )
                _write(checked, _series_ids(keys))
            return len(samples)
        except (SampleError, KeyError, IngestError, IngestForbidden):
            pass  # nothing stored; the careful pass below explains what was wrong
    rows = validate(samples, batch, default_service, window)
    check_sensors([key[:2] for key, _, _, _ in rows], batch, restrict_service)
    with transaction.atomic():
        ids = _series_ids({key: labels for key, _, _, labels in rows})
        _write(_chunks(rows), ids)
    return len(rows)


def purge_expired(now: datetime | None = None) -> int:
    """Delete samples older than the retention, one series at a time (uses the index)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.HMS_METRIC_RETENTION_DAYS)
    deleted = 0
    for series_id in Series.objects.values_list("id", flat=True).iterator():
        count, _ = Sample.objects.filter(series_id=series_id, ts__lt=cutoff).delete()
        deleted += count
    return deleted
