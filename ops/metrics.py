"""Metric ingestion, window aggregates and the one percentile method.

``ingest(payload, ...)`` validates a sample or a batch of up to ``MAX_SAMPLES``
and stores it all-or-nothing (PostgreSQL: ``COPY`` in the caller's transaction;
SQLite: ``bulk_create``). ``aggregate(...)`` is the public read used by the APM
``metric`` probe. ``percentile`` is linear interpolation between closest ranks,
exactly PostgreSQL's ``percentile_cont`` — the SLO evaluator uses the same.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Avg, Count, Max, Min, Sum
from django.utils import timezone

from ops.models import Sample, Sensor, Series

MAX_SAMPLES = 10_000
MAX_FUTURE = timedelta(minutes=5)
MAX_LABELS = 20
SAMPLE_FIELDS = frozenset({"service", "name", "value", "ts", "labels"})
MAX_REPORTED_ERRORS = 100


class IngestError(ValueError):
    """Validation failed; ``errors`` is the 400 body."""

    def __init__(self, errors: dict):
        self.errors = errors
        super().__init__(json.dumps(errors)[:500])


class IngestForbidden(PermissionError):
    pass


def percentile(sorted_values: list[float], pct: float) -> float | None:
    """``pct`` in [0, 100] of already sorted values, as ``percentile_cont(pct / 100)``."""
    if not sorted_values:
        return None
    position = (len(sorted_values) - 1) * pct / 100.0
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return float(sorted_values[low])
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def labels_key(labels: dict) -> str:
    return json.dumps(labels, sort_keys=True, separators=(",", ":")) if labels else "{}"


# --- validation ---------------------------------------------------------------------


def _parse_ts(raw, now: datetime) -> datetime:
    if isinstance(raw, bool) or raw is None:
        raise ValueError("must be an ISO-8601 time or epoch seconds")
    if isinstance(raw, int | float):
        if not math.isfinite(raw):
            raise ValueError("must be a finite number of epoch seconds")
        try:
            ts = datetime.fromtimestamp(raw, tz=UTC)
        except (OverflowError, OSError, ValueError):
            raise ValueError("is out of range") from None
    elif isinstance(raw, str):
        try:
            ts = datetime.fromisoformat(raw)
        except ValueError:
            raise ValueError("must be an ISO-8601 time or epoch seconds") from None
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
    else:
        raise ValueError("must be an ISO-8601 time or epoch seconds")
    if ts > now + MAX_FUTURE:
        raise ValueError(f"is more than {int(MAX_FUTURE.total_seconds())} s in the future")
    if ts < now - timedelta(days=settings.HMS_METRIC_RETENTION_DAYS):
        raise ValueError(f"is older than the {settings.HMS_METRIC_RETENTION_DAYS}-day retention")
    return ts


def _check_sample(raw, default_service: str | None, now: datetime):
    """-> ((service, name, labels_key), ts, value, labels) or raise ``_SampleError``."""
    if not isinstance(raw, dict):
        raise _SampleError({"non_field_errors": ["must be an object"]})
    errors: dict[str, list[str]] = {}
    for key in raw.keys() - SAMPLE_FIELDS:
        errors[key] = ["unknown field"]
    value = raw.get("value")
    if "value" not in raw:
        errors["value"] = ["is required"]
    elif isinstance(value, bool) or not isinstance(value, int | float):
        errors["value"] = ["must be a number"]
    elif not math.isfinite(value):
        errors["value"] = ["must be a finite number"]
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        errors["name"] = ["is required" if name is None else "must be a metric name"]
    service = raw.get("service", default_service)
    if not isinstance(service, str) or not service:
        errors["service"] = ["is required" if service is None else "must be a service id"]
    ts = now
    if raw.get("ts") is not None:
        try:
            ts = _parse_ts(raw["ts"], now)
        except ValueError as exc:
            errors["ts"] = [str(exc)]
    labels = raw.get("labels") or {}
    if (
        not isinstance(labels, dict)
        or len(labels) > MAX_LABELS
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())
    ):
        errors["labels"] = [f"must map up to {MAX_LABELS} names to text"]
    if errors:
        raise _SampleError(errors)
    return (service, name, labels_key(labels)), ts, float(value), labels


class _SampleError(Exception):
    def __init__(self, errors: dict):
        self.errors = errors


def _validate(payload, default_service, now):
    """-> list of (series_key, ts, value, labels); raise IngestError with index-keyed errors."""
    if not isinstance(payload, dict):
        raise IngestError({"non_field_errors": ['send one sample object or {"samples": [...]}']})
    if "samples" not in payload:
        try:
            return [_check_sample(payload, default_service, now)], False
        except _SampleError as exc:
            raise IngestError(exc.errors) from None
    samples = payload["samples"]
    if set(payload) != {"samples"}:
        raise IngestError({k: ["unknown field"] for k in set(payload) - {"samples"}})
    if not isinstance(samples, list) or not samples:
        raise IngestError({"samples": ["must be a non-empty list"]})
    if len(samples) > MAX_SAMPLES:
        raise IngestError({"samples": [f"at most {MAX_SAMPLES} samples per request"]})
    rows, errors = [], {}
    for index, raw in enumerate(samples):
        try:
            rows.append(_check_sample(raw, default_service, now))
        except _SampleError as exc:
            if len(errors) < MAX_REPORTED_ERRORS:
                errors[str(index)] = exc.errors
    if errors:
        raise IngestError({"samples": errors})
    return rows, True


def _check_names(rows, batch: bool, restrict_service: str | None) -> None:
    services = {row[0][0] for row in rows}
    if restrict_service is not None:
        for index, row in enumerate(rows):
            if row[0][0] != restrict_service:
                where = f"sample {index}: " if batch else ""
                raise IngestForbidden(
                    f"{where}this ingest key may only write service {restrict_service!r}"
                )
    known: dict[str, set[str]] = {service: set() for service in services}
    found = set()
    for service_id, name in Sensor.objects.filter(service_id__in=services).values_list(
        "service_id", "name"
    ):
        known[service_id].add(name)
        found.add(service_id)
    errors = {}
    for index, row in enumerate(rows):
        key = row[0]
        if key[0] not in found:
            errors[str(index)] = {"service": [f"unknown service {key[0]!r}"]}
        elif key[1] not in known[key[0]]:
            errors[str(index)] = {"name": [f"{key[1]!r} is not a sensor of service {key[0]!r}"]}
        if len(errors) >= MAX_REPORTED_ERRORS:
            break
    if errors:
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


def _store(rows: list[tuple[int, datetime, float]]) -> None:
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Sample._meta.db_table)
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg cursor under Django's wrapper
            with raw.copy(f"COPY {table} (series_id, ts, value) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
    else:
        Sample.objects.bulk_create(
            [Sample(series_id=s, ts=t, value=v) for s, t, v in rows], batch_size=500
        )


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
    """
    now = now or timezone.now()
    rows, batch = _validate(payload, default_service, now)
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


# --- reads --------------------------------------------------------------------------

ORM_AGGREGATES = {"avg": Avg, "min": Min, "max": Max, "sum": Sum, "count": Count}
PERCENTILES = {"p50": 50.0, "p90": 90.0, "p95": 95.0, "p99": 99.0}
AGGREGATE_FUNCS = (*ORM_AGGREGATES, "last", *PERCENTILES)


def window_samples(service_id: str, name: str, window_seconds: int, at: datetime):
    """Samples of every series of ``name`` in the window ``(at - window, at]``."""
    return Sample.objects.filter(
        series__service_id=service_id,
        series__name=name,
        ts__gt=at - timedelta(seconds=window_seconds),
        ts__lte=at,
    )


def window_percentile(service_id: str, name: str, pct: float, window_seconds: int, at: datetime):
    samples = window_samples(service_id, name, window_seconds, at)
    if connection.vendor == "postgresql":
        sql, params = samples.values("value").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT percentile_cont(%s) WITHIN GROUP (ORDER BY w.value) "  # noqa: S608
                f"FROM ({sql}) AS w",
                (pct / 100.0, *params),
            )
            return cursor.fetchone()[0]
    return percentile(sorted(samples.values_list("value", flat=True)), pct)


def aggregate(
    service_id: str, name: str, func: str, window_seconds: int, at: datetime | None = None
) -> float | None:
    """``func`` (avg/min/max/sum/count/last/p50/p90/p95/p99) of the metric over the window
    ending at ``at`` (default now); None when the window holds no sample."""
    if func not in AGGREGATE_FUNCS:
        raise ValueError(f"func must be one of {', '.join(AGGREGATE_FUNCS)}")
    at = at or timezone.now()
    samples = window_samples(service_id, name, window_seconds, at)
    if func in PERCENTILES:
        return window_percentile(service_id, name, PERCENTILES[func], window_seconds, at)
    if func == "last":
        value = samples.order_by("-ts", "-id").values_list("value", flat=True).first()
        return None if value is None else float(value)
    result = samples.aggregate(n=Count("id"), v=ORM_AGGREGATES[func]("value"))
    return None if not result["n"] else float(result["v"])
