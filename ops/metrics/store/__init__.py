"""The metrics store: one interface (``base.MetricsStore``), engines chosen by name.

``get_store()`` returns the engine named by ``HMS_METRICS_STORE`` (``database``, the
default, or ``prometheus``). An engine registers here by name with the dotted path of
its class, imported on first use (so an engine's own dependencies are only needed
when it is chosen). ``hms_site/settings.py`` refuses any other name at start.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.utils.module_loading import import_string

from ops.metrics.store.base import (
    AGGREGATES,
    PERCENTILES,
    STATISTICS,
    CountQuery,
    MaintenanceResult,
    MetricsStore,
    Points,
    Row,
    SeriesKey,
    SeriesPoints,
    StoreUnavailable,
    WindowQuery,
    WindowStat,
    percentile_of,
    percentile_statistic,
)

STORES: dict[str, str] = {
    "database": "ops.metrics.store.database.DatabaseStore",
    "prometheus": "ops.metrics.store.prometheus.PrometheusStore",
}


@cache
def store_class(name: str) -> type[MetricsStore]:
    try:
        path = STORES[name]
    except KeyError:
        raise ValueError(f"unknown metrics store {name!r}; one of {', '.join(STORES)}") from None
    return import_string(path)


def get_store(name: str | None = None) -> MetricsStore:
    """The configured engine (or the one named): a new, stateless instance."""
    return store_class(name or settings.HMS_METRICS_STORE)()


__all__ = [
    "AGGREGATES",
    "PERCENTILES",
    "STATISTICS",
    "STORES",
    "CountQuery",
    "MaintenanceResult",
    "MetricsStore",
    "Points",
    "Row",
    "SeriesKey",
    "SeriesPoints",
    "StoreUnavailable",
    "WindowQuery",
    "WindowStat",
    "get_store",
    "percentile_of",
    "percentile_statistic",
    "store_class",
]
