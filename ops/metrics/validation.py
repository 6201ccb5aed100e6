"""Checking pushed samples: one fast path for the usual sample, a careful one that explains.

Times become integer microseconds since the Unix epoch (exact, and what binary
COPY wants); errors are keyed by field, and by sample index for batches.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

from django.conf import settings

MAX_SAMPLES = 10_000
MAX_FUTURE = timedelta(minutes=5)
MAX_LABELS = 20
SAMPLE_FIELDS = frozenset({"service", "name", "value", "ts", "labels"})
MAX_REPORTED_ERRORS = 100
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ONE_MICROSECOND = timedelta(microseconds=1)


class IngestError(ValueError):
    """Validation failed; ``errors`` is the 400 body."""

    def __init__(self, errors: dict):
        self.errors = errors
        super().__init__(json.dumps(errors)[:500])


class IngestForbidden(PermissionError):
    pass


def labels_key(labels: dict) -> str:
    return json.dumps(labels, sort_keys=True, separators=(",", ":")) if labels else "{}"


# --- validation ---------------------------------------------------------------------


class _Window:
    """The accepted time range for one request, computed once (not per sample)."""

    def __init__(self, now: datetime):
        self.now = now
        self.now_us = (now - UNIX_EPOCH) // ONE_MICROSECOND
        self.retention_days = settings.HMS_METRIC_RETENTION_DAYS
        self.earliest = now - timedelta(days=self.retention_days)
        self.latest = now + MAX_FUTURE
        self.earliest_epoch = self.earliest.timestamp()
        self.latest_epoch = self.latest.timestamp()

    def parse(self, raw) -> datetime:
        kind = type(raw)
        if kind is float or kind is int:
            if not math.isfinite(raw):
                raise ValueError("must be a finite number of epoch seconds")
            if raw > self.latest_epoch:
                raise ValueError(self._future())
            if raw < self.earliest_epoch:
                raise ValueError(self._past())
            return round(raw * 1_000_000)
        if kind is not str:
            raise ValueError("must be an ISO-8601 time or epoch seconds")
        try:
            ts = datetime.fromisoformat(raw)
        except ValueError:
            raise ValueError("must be an ISO-8601 time or epoch seconds") from None
        if ts.tzinfo is None:
            ts = ts.replace(tzinfo=UTC)
        if ts > self.latest:
            raise ValueError(self._future())
        if ts < self.earliest:
            raise ValueError(self._past())
        return (ts - UNIX_EPOCH) // ONE_MICROSECOND

    @staticmethod
    def _future() -> str:
        return f"is more than {int(MAX_FUTURE.total_seconds())} s in the future"

    def _past(self) -> str:
        return f"is older than the {self.retention_days}-day retention"


def _check_sample(raw, default_service: str | None, window: _Window):
    """-> ((service, name, labels_key), ts, value, labels) or raise ``_SampleError``.

    The common well-formed sample takes the first branch; anything unusual goes
    through ``_explain`` which names every bad field.
    """
    if type(raw) is dict and SAMPLE_FIELDS.issuperset(raw):
        value = raw.get("value")
        name = raw.get("name")
        service = raw.get("service", default_service)
        labels = raw.get("labels")
        kind = type(value)
        if (
            (kind is float or kind is int)
            and math.isfinite(value)
            and type(name) is str
            and name
            and type(service) is str
            and service
            and not labels
        ):
            ts = raw.get("ts")
            try:
                when = window.now_us if ts is None else window.parse(ts)
            except (ValueError, OverflowError, OSError):
                pass
            else:
                return (service, name, "{}"), when, float(value), {}
    return _explain(raw, default_service, window)


def _explain(raw, default_service: str | None, window: _Window):
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
    ts = window.now_us
    if raw.get("ts") is not None:
        try:
            ts = window.parse(raw["ts"])
        except (OverflowError, OSError):
            errors["ts"] = ["is out of range"]
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


def _samples_of(payload) -> tuple[list, bool]:
    """The list of raw samples and whether it was a batch; refuse a wrong envelope."""
    if not isinstance(payload, dict):
        raise IngestError({"non_field_errors": ['send one sample object or {"samples": [...]}']})
    if "samples" not in payload:
        return [payload], False
    samples = payload["samples"]
    if set(payload) != {"samples"}:
        raise IngestError({k: ["unknown field"] for k in set(payload) - {"samples"}})
    if not isinstance(samples, list) or not samples:
        raise IngestError({"samples": ["must be a non-empty list"]})
    if len(samples) > MAX_SAMPLES:
        raise IngestError({"samples": [f"at most {MAX_SAMPLES} samples per request"]})
    return samples, True


def _validate(samples: list, batch: bool, default_service, window: _Window) -> list:
    """Every sample checked -> [(series_key, ts_us, value, labels)]; else IngestError by index."""
    if not batch:
        try:
            return [_check_sample(samples[0], default_service, window)]
        except _SampleError as exc:
            raise IngestError(exc.errors) from None
    rows, errors = [], {}
    for index, raw in enumerate(samples):
        try:
            rows.append(_check_sample(raw, default_service, window))
        except _SampleError as exc:
            if len(errors) < MAX_REPORTED_ERRORS:
                errors[str(index)] = exc.errors
    if errors:
        raise IngestError({"samples": errors})
    return rows
