"""Reading metrics: window samples, the one percentile method, and ``aggregate``."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Avg, Count, Max, Min, Sum
from django.utils import timezone

from ops.models import Sample


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


def window_stats(
    service_id: str, name: str, window_seconds: int, at: datetime
) -> tuple[int, datetime | None]:
    """(how many samples, the newest one's time) in the window ``(at - window, at]``: one
    aggregate query; the count a verdict's ``min_samples`` is checked against."""
    stats = window_samples(service_id, name, window_seconds, at).aggregate(
        n=Count("id"), newest=Max("ts")
    )
    return stats["n"], stats["newest"]
