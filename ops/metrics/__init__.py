"""Metric ingestion, window aggregates and the one percentile method.

``ingest(payload, ...)`` validates a sample or a batch of up to ``MAX_SAMPLES``
and stores it all-or-nothing (PostgreSQL: ``COPY`` in the caller's transaction;
SQLite: ``bulk_create``). ``aggregate(...)`` is the public read used by the APM
``metric`` probe. ``percentile`` is linear interpolation between closest ranks,
exactly PostgreSQL's ``percentile_cont`` — the SLO evaluator uses the same.
"""

from ops.metrics.ingest import ingest, purge_expired
from ops.metrics.reads import (
    AGGREGATE_FUNCS,
    PERCENTILES,
    aggregate,
    percentile,
    window_percentile,
    window_samples,
    window_stats,
)
from ops.metrics.validation import MAX_SAMPLES, IngestError, IngestForbidden, labels_key

__all__ = [
    "AGGREGATE_FUNCS",
    "MAX_SAMPLES",
    "PERCENTILES",
    "IngestError",
    "IngestForbidden",
    "aggregate",
    "ingest",
    "labels_key",
    "percentile",
    "purge_expired",
    "window_percentile",
    "window_samples",
    "window_stats",
]
