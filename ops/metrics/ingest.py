"""Storing samples: one sensor check, then the configured metrics store's ``write``
(all-or-nothing), and the retention (``purge_expired`` → the store's ``maintain``)."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from ops.metrics.store import MaintenanceResult, get_store
from ops.metrics.store.database import COPY_HEADER, COPY_TRAILER, encode
from ops.metrics.validation import (
    MAX_REPORTED_ERRORS,
    IngestError,
    IngestForbidden,
    SampleError,
    Window,
    check_sample,
    labels_key,
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
    store = get_store()
    samples, batch = samples_of(payload)
    keys = _series_keys(samples, default_service)
    if keys is not None:
        try:
            check_sensors([(service, name) for service, name, _ in keys], batch, restrict_service)
            checked = (
                [check_sample(raw, default_service, window) for raw in chunk]
                for chunk in _chunks(samples)
            )
            store.write(keys, checked)
            return len(samples)
        except (SampleError, KeyError, IngestError, IngestForbidden):
            pass  # nothing stored; the careful pass below explains what was wrong
    rows = validate(samples, batch, default_service, window)
    check_sensors([key[:2] for key, _, _, _ in rows], batch, restrict_service)
    store.write({key: labels for key, _, _, labels in rows}, _chunks(rows))
    return len(rows)


def purge_expired(now: datetime | None = None) -> MaintenanceResult:
    """Apply the retention (``HMS_METRIC_RETENTION_DAYS``) and prepare partitions ahead."""
    return get_store().maintain(now or timezone.now())
