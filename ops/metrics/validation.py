"""Checking pushed samples: one validator, fast when a sample is clean, naming every error
when it is not (``check_sample``; ``validate`` for a whole request).

Times become integer microseconds since the Unix epoch (exact, and what binary
COPY wants); errors are keyed by field, and by sample index for batches.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from itertools import repeat
from operator import itemgetter

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


class Window:
    """The accepted time range for one request, computed once (not per sample)."""

    def __init__(self, now: datetime):
        self.now = now
        self.now_us = (now - UNIX_EPOCH) // ONE_MICROSECOND
        self.retention_days = settings.HMS_METRIC_RETENTION_DAYS
        self.earliest = now - timedelta(days=self.retention_days)
        self.latest = now + MAX_FUTURE
        self.earliest_epoch = self.earliest.timestamp()
        self.latest_epoch = self.latest.timestamp()
        self._arrivals = 0

    def arrival_us(self) -> int:
        """The instant of a sample sent without ``ts``: the request's arrival, each further
        one a millisecond later (the ``prometheus`` store's resolution), so readings of one
        series in one batch stay apart (a (series, ts) pair is one reading)."""
        self._arrivals += 1
        return self.now_us + (self._arrivals - 1) * 1000

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


def _add(errors: dict | None, field: str, message: str) -> dict:
    errors = {} if errors is None else errors
    errors[field] = [message]
    return errors


def _value_problem(raw: dict, value) -> str | None:
    if "value" not in raw:
        return "is required"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "must be a number"
    try:
        return None if math.isfinite(value) else "must be a finite number"
    except OverflowError:  # an integer too large for a float
        return "must be a finite number"


def check_sample(raw, default_service: str | None, window: Window):
    """-> ((service, name, labels_key), ts, value, labels), or ``SampleError`` naming every
    bad field of the sample.

    Each rule is written once: a first test on the exact types JSON produces (the usual
    well-formed sample passes them all and builds no error dict), and only a sample
    that fails it pays for the careful test and the message.
    """
    if type(raw) is not dict and not isinstance(raw, dict):
        raise SampleError({"non_field_errors": ["must be an object"]})
    errors = None
    if not SAMPLE_FIELDS.issuperset(raw):
        errors = {key: ["unknown field"] for key in raw.keys() - SAMPLE_FIELDS}
    value = raw.get("value")
    kind = type(value)
    try:
        clean = (kind is float or kind is int) and math.isfinite(value)
    except OverflowError:
        clean = False
    if not clean and (problem := _value_problem(raw, value)):
        errors = _add(errors, "value", problem)
    name = raw.get("name")
    if not (type(name) is str and name) and not (isinstance(name, str) and name):
        errors = _add(errors, "name", "is required" if name is None else "must be a metric name")
    service = raw.get("service", default_service)
    if not (type(service) is str and service) and not (isinstance(service, str) and service):
        message = "is required" if service is None else "must be a service id"
        errors = _add(errors, "service", message)
    ts = raw.get("ts")
    if ts is None:
        when = window.arrival_us()
    else:
        try:
            when = window.parse(ts)
        except (OverflowError, OSError):
            errors = _add(errors, "ts", "is out of range")
        except ValueError as exc:
            errors = _add(errors, "ts", str(exc))
    labels = raw.get("labels") or {}
    if not labels:
        key = "{}"
    elif (
        isinstance(labels, dict)
        and len(labels) <= MAX_LABELS
        and all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items())
    ):
        key = labels_key(labels)
    else:
        errors = _add(errors, "labels", f"must map up to {MAX_LABELS} names to text")
    if errors:
        raise SampleError(errors)
    return (service, name, key), when, float(value), labels


class SampleError(Exception):
    """One sample is bad; ``errors`` names each bad field."""

    def __init__(self, errors: dict):
        self.errors = errors


def samples_of(payload) -> tuple[list, bool]:
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


_NO_LABELS: dict = {}
_PLAIN_FIELDS = frozenset({"service", "name", "value", "ts"})
_VALUE, _TS, _NAME = itemgetter("value"), itemgetter("ts"), itemgetter("name")


def plain_batch(samples: list, default_service, window: Window) -> tuple[list, dict] | None:
    """``check_batch``'s answer for a batch of only usual samples, else None.

    The same rules as its inline test, each applied to a whole column at once in C
    (``map``, ``set``, ``min``/``max``; a finite sum means every term is finite): each
    sample a dict of only service/name/value/ts, a float value, a float ``ts`` in the
    window, a non-empty text name and service. Anything else (None) takes the loop.
    """
    fields = set().union(*samples) if set(map(type, samples)) == {dict} else None
    if fields is None or not _PLAIN_FIELDS.issuperset(fields):
        return None
    try:
        values, stamps, names = (list(map(get, samples)) for get in (_VALUE, _TS, _NAME))
    except KeyError:
        return None
    if (
        set(map(type, values)) != {float}
        or not math.isfinite(sum(values))
        or set(map(type, stamps)) != {float}
        or not math.isfinite(sum(stamps))
        or min(stamps) < window.earliest_epoch
        or max(stamps) > window.latest_epoch
        or set(map(type, names)) != {str}
        or "" in set(names)
    ):
        return None
    if "service" in fields:
        services = [s.get("service", default_service) for s in samples]
    else:
        services = [default_service] * len(samples)
    if set(map(type, services)) != {str} or "" in services:
        return None
    keys = {(*pair, "{}"): _NO_LABELS for pair in dict.fromkeys(zip(services, names, strict=True))}
    us = [round(ts * 1_000_000) for ts in stamps]
    if len(keys) == 1:
        series = repeat(next(iter(keys)))
    else:
        series = map({key[:2]: key for key in keys}.__getitem__, zip(services, names, strict=True))
    return list(zip(series, us, values, repeat(_NO_LABELS))), keys


def check_batch(samples: list, default_service, window: Window) -> tuple[list, dict]:
    """One pass over clean samples -> (rows as ``check_sample`` gives them, {series key:
    labels}); ``SampleError`` at the first bad sample (``validate`` then names them all).

    A batch of only usual samples is checked column by column (``plain_batch``); else
    the usual sample (float value and epoch-seconds ``ts``, no labels) is checked inline
    against the exact types JSON produces, and any other goes through ``check_sample``.
    """
    plain_rows = plain_batch(samples, default_service, window)
    if plain_rows is not None:
        return plain_rows
    rows: list = []
    keys: dict = {}
    plain: dict = {}
    append = rows.append
    earliest, latest = window.earliest_epoch, window.latest_epoch
    fields = SAMPLE_FIELDS.issuperset
    for raw in samples:
        if type(raw) is dict and not raw.get("labels"):
            value = raw.get("value")
            ts = raw.get("ts")
            name = raw.get("name")
            service = raw.get("service", default_service)
            if (
                type(value) is float
                and value - value == 0  # finite
                and type(ts) is float
                and earliest <= ts <= latest  # NaN fails both
                and type(name) is str
                and name
                and type(service) is str
                and service
                and fields(raw)
            ):
                key = plain.get((service, name))
                if key is None:
                    key = plain[(service, name)] = (service, name, "{}")
                    keys[key] = _NO_LABELS
                append((key, round(ts * 1_000_000), value, _NO_LABELS))
                continue
        row = check_sample(raw, default_service, window)
        append(row)
        if row[0] not in keys:
            keys[row[0]] = row[3]
    return rows, keys


def validate(samples: list, batch: bool, default_service, window: Window) -> list:
    """Every sample checked -> [(series_key, ts_us, value, labels)]; else IngestError by index."""
    if not batch:
        try:
            return [check_sample(samples[0], default_service, window)]
        except SampleError as exc:
            raise IngestError(exc.errors) from None
    rows, errors = [], {}
    for index, raw in enumerate(samples):
        try:
            rows.append(check_sample(raw, default_service, window))
        except SampleError as exc:
            if len(errors) < MAX_REPORTED_ERRORS:
                errors[str(index)] = exc.errors
    if errors:
        raise IngestError({"samples": errors})
    return rows
