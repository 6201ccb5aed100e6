"""Metric ingestion and reads, behind the configured metrics store (``ops.metrics.store``).

``ingest(payload, ...)`` validates a sample or a batch of up to ``MAX_SAMPLES`` and
hands it to the store all-or-nothing. ``aggregate(...)`` is the public read used by
the APM ``metric`` probe and the playbook's metric conditions. ``percentile`` is
linear interpolation between closest ranks, exactly PostgreSQL's ``percentile_cont``.
"""

from ops.metrics.ingest import ingest, purge_expired
from ops.metrics.reads import (
    AGGREGATE_FUNCS,
    PERCENTILES,
    aggregate,
    percentile,
    window_percentile,
)
from ops.metrics.store import StoreUnavailable, get_store
from ops.metrics.validation import MAX_SAMPLES, IngestError, IngestForbidden, labels_key

__all__ = [
    "AGGREGATE_FUNCS",
    "MAX_SAMPLES",
    "PERCENTILES",
    "IngestError",
    "IngestForbidden",
    "StoreUnavailable",
    "aggregate",
    "get_store",
    "ingest",
    "labels_key",
    "percentile",
    "purge_expired",
    "window_percentile",
]
