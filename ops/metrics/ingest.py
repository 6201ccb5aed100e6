"""Storing samples: one sensor check, then the configured metrics store's ``write``
(all-or-nothing), and the retention (``purge_expired`` → the store's ``maintain``)."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.utils import timezone

from ops import slo_trigger
from ops.metrics.store import MaintenanceResult, get_store
from ops.metrics.store.database import COPY_HEADER, COPY_TRAILER, encode
from ops.metrics.validation import (
    MAX_REPORTED_ERRORS,
    IngestError,
    IngestForbidden,
    SampleError,
    Window,
    check_batch,
    samples_of,
    validate,
)
from ops.models import Sensor

# The benchmarks' reference COPY uses the database store's encoder.
__all__ = ["COPY_HEADER", "COPY_TRAILER", "check_sensors", "encode", "ingest", "purge_expired"]
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
    # One statement on every ingest request, written out: no ORM query building.
    marks = ", ".join(["%s"] * len(services))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT service_id, name FROM {Sensor._meta.db_table} WHERE service_id IN ({marks})",  # noqa: S608
            list(services),
        )
        known = set(cursor.fetchall())
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


def check_series(store, rows: list, batch: bool) -> None:
    """Label sets the store cannot keep (``series_problem``), named by sample index."""
    problems: dict = {}
    errors = {}
    for index, (key, _, _, labels) in enumerate(rows):
        if key not in problems:
            problems[key] = store.series_problem(labels)
        if problems[key]:
            errors[str(index)] = {"labels": [problems[key]]}
            if len(errors) >= MAX_REPORTED_ERRORS:
                break
    if errors:
        raise IngestError({"samples": errors} if batch else errors["0"])


def _chunks(samples: list, size: int = _CHUNK):
    return (samples[start : start + size] for start in range(0, len(samples), size))


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

    The samples are checked in one pass (``check_batch``) that also collects their
    series; at the first bad sample the careful validator runs over the whole request,
    naming each bad sample by index and field. Then the sensors are checked (one
    statement) and the store writes the rows; nothing is written before all is checked.
    """
    window = Window(now or timezone.now())
    store = get_store()
    samples, batch = samples_of(payload)
    try:
        rows, keys = check_batch(samples, default_service, window)
    except SampleError:
        rows = validate(samples, batch, default_service, window)  # names every bad sample
        keys = {key: labels for key, _, _, labels in rows}
    try:  # the batch's distinct series: one check whatever the batch's size
        check_sensors([(service, name) for service, name, _ in keys], batch, restrict_service)
    except (IngestError, IngestForbidden):
        # refused: checked again with every sample in order, so errors name sample indexes
        check_sensors([key[:2] for key, *_ in rows], batch, restrict_service)
        raise
    if any(store.series_problem(labels) for labels in keys.values()):
        check_series(store, rows, batch)
    store.write(keys, _chunks(rows))
    slo_trigger.after_ingest(service for service, _, _ in keys)  # after the commit
    return len(rows)


def purge_expired(now: datetime | None = None) -> MaintenanceResult:
    """Apply the retention (``HMS_METRIC_RETENTION_DAYS``) and prepare partitions ahead."""
    return get_store().maintain(now or timezone.now())
