"""Storing samples: series resolution, binary COPY (PostgreSQL) or bulk_create, retention."""

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
    _check_sample,
    _SampleError,
    _samples_of,
    _validate,
    _Window,
    labels_key,
)
from ops.models import Sample, Sensor, Series

PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 in Unix microseconds
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no extension
_COPY_TRAILER = b"\xff\xff"
_COPY_ROW = struct.Struct(">hiqiqid")
_CHUNK = 1000


def _check_names(rows, batch: bool, restrict_service: str | None) -> None:
    pairs = {(row[0][0], row[0][1]) for row in rows}
    services = {service for service, _ in pairs}
    if restrict_service is not None and services != {restrict_service}:
        index = next(i for i, row in enumerate(rows) if row[0][0] != restrict_service)
        where = f"sample {index}: " if batch else ""
        raise IngestForbidden(f"{where}this ingest key may only write service {restrict_service!r}")
    known = set(Sensor.objects.filter(service_id__in=services).values_list("service_id", "name"))
    if pairs <= known:
        return
    found = {service for service, _ in known}
    errors = {}
    for index, row in enumerate(rows):
        service, name = row[0][0], row[0][1]
        if service not in found:
            errors[str(index)] = {"service": [f"unknown service {service!r}"]}
        elif (service, name) not in known:
            errors[str(index)] = {"name": [f"{name!r} is not a sensor of service {service!r}"]}
        if len(errors) >= MAX_REPORTED_ERRORS:
            break
    raise IngestError({"samples": errors} if batch else errors["0"])


# --- storage ------------------------------------------------------------------------


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


def _copy_binary(rows: list[tuple[int, int, float]]) -> bytes:
    """PostgreSQL's binary COPY format: header, one (int8, timestamptz, float8) tuple per row.

    timestamptz is int64 microseconds since 2000-01-01 UTC; no per-row datetime objects.
    """
    pack = _COPY_ROW.pack
    body = [pack(3, 8, sid, 8, us - PG_EPOCH_US, 8, value) for sid, us, value in rows]
    return b"".join((_COPY_HEADER, *body, _COPY_TRAILER))


def _store(rows: list[tuple[int, int, float]]) -> None:
    """``rows`` are (series id, microseconds since the Unix epoch, value)."""
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Sample._meta.db_table)
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            sql = f"COPY {table} (series_id, ts, value) FROM STDIN (FORMAT BINARY)"
            with raw.copy(sql) as copy:
                copy.write(_copy_binary(rows))
    else:
        Sample.objects.bulk_create(
            [
                Sample(series_id=s, ts=UNIX_EPOCH + timedelta(microseconds=us), value=v)
                for s, us, v in rows
            ],
            batch_size=500,
        )


def _series_keys(samples: list, default_service) -> dict[tuple, dict] | None:
    """{(service, name, labels_key): labels} named by the samples, or None when a sample is
    too malformed to say (the careful path then explains what is wrong)."""
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
                keys[key] = labels
    except TypeError:  # unhashable service/name, unsortable labels
        return None
    return keys


def _keys_allowed(keys: dict, restrict_service: str | None) -> bool:
    pairs = {(service, name) for service, name, _ in keys}
    services = {service for service, _ in pairs}
    if restrict_service is not None and services != {restrict_service}:
        return False
    if not all(isinstance(x, str) for pair in pairs for x in pair):
        return False
    known = Sensor.objects.filter(service_id__in=services).values_list("service_id", "name")
    return pairs <= set(known)


def _stream(samples: list, ids: dict, default_service, window: _Window) -> None:
    """Check and write the samples chunk by chunk, so checking overlaps the database's work.

    Raises ``_SampleError`` (or KeyError) at the first bad sample; the caller's
    transaction then rolls back whatever was written.
    """
    check = _check_sample
    if connection.vendor != "postgresql":
        for start in range(0, len(samples), _CHUNK):
            rows = [check(raw, default_service, window) for raw in samples[start : start + _CHUNK]]
            _store([(ids[key], us, value) for key, us, value, _ in rows])
        return
    pack = _COPY_ROW.pack
    table = connection.ops.quote_name(Sample._meta.db_table)
    sql = f"COPY {table} (series_id, ts, value) FROM STDIN (FORMAT BINARY)"
    # psycopg's own COPY: wrap_database_errors turns its errors into Django's (a dropped
    # connection is then an OperationalError, and the connection is marked unusable).
    with (
        connection.cursor() as cursor,
        connection.wrap_database_errors,
        cursor.cursor.copy(sql) as copy,
    ):
        copy.write(_COPY_HEADER)
        for start in range(0, len(samples), _CHUNK):
            chunk = [check(raw, default_service, window) for raw in samples[start : start + _CHUNK]]
            copy.write(
                b"".join([pack(3, 8, ids[k], 8, us - PG_EPOCH_US, 8, v) for k, us, v, _ in chunk])
            )
        copy.write(_COPY_TRAILER)


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

    Fast path: the series are resolved from the samples' keys, then samples are
    checked and streamed into COPY in one pass. Anything wrong (or any doubt)
    falls back to the careful path, which checks every sample first and names
    each bad one by index and field.
    """
    window = _Window(now or timezone.now())
    samples, batch = _samples_of(payload)
    keys = _series_keys(samples, default_service)
    if keys is not None and _keys_allowed(keys, restrict_service):
        try:
            with transaction.atomic():
                _stream(samples, _series_ids(keys), default_service, window)
            return len(samples)
        except (_SampleError, KeyError):
            pass  # rolled back; the careful path below explains what was wrong
    rows = _validate(samples, batch, default_service, window)
    _check_names(rows, batch, restrict_service)
    with transaction.atomic():
        ids = _series_ids({key: labels for key, _, _, labels in rows})
        _store([(ids[key], ts, value) for key, ts, value, _ in rows])
    return len(rows)


def purge_expired(now: datetime | None = None) -> int:
    """Delete samples older than the retention, one series at a time (uses the index)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.HMS_METRIC_RETENTION_DAYS)
    deleted = 0
    for series_id in Series.objects.values_list("id", flat=True).iterator():
        count, _ = Sample.objects.filter(series_id=series_id, ts__lt=cutoff).delete()
        deleted += count
    return deleted
