"""Reading metrics, the public way: thin wrappers over the configured metrics store.

``aggregate`` is what the APM ``metric`` probe and the playbook's metric conditions
call; many reads at once go through ``get_store().window_stats`` directly.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from ops.metrics.percentile import percentile
from ops.metrics.store import (
    AGGREGATES,
    PERCENTILES,
    STATISTICS,
    WindowQuery,
    get_store,
    percentile_statistic,
)

AGGREGATE_FUNCS = STATISTICS
__all__ = ["AGGREGATES", "AGGREGATE_FUNCS", "PERCENTILES", "aggregate", "percentile"]


def window_percentile(service_id: str, name: str, pct: float, window_seconds: int, at: datetime):
    """``pct`` in (0, 100] of every series of ``name`` in ``(at - window, at]``."""
    query = WindowQuery(service_id, name, window_seconds, at, percentile_statistic(pct))
    return get_store().window_stats([query])[0].value


def aggregate(
    service_id: str, name: str, func: str, window_seconds: int, at: datetime | None = None
) -> float | None:
    """``func`` (avg/min/max/sum/count/last/p50/p90/p95/p99) of the metric over the window
    ending at ``at`` (default now); None when the window holds no sample."""
    if func not in AGGREGATE_FUNCS:
        raise ValueError(f"func must be one of {', '.join(AGGREGATE_FUNCS)}")
    query = WindowQuery(service_id, name, window_seconds, at or timezone.now(), func)
    return get_store().window_stats([query])[0].value
