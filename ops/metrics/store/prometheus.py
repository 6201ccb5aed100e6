"""The ``prometheus`` store: samples go to a Prometheus-compatible engine, reads are PromQL.

Writes are Prometheus remote write (``promwire``: snappy-compressed protobuf) to
``HMS_REMOTE_WRITE_URL``; reads are PromQL over HTTP on ``HMS_METRICS_QUERY_URL``
(``promreads``, ``promgraphs``). Prometheus (started with
``--web.enable-remote-write-receiver``), Thanos Receive, Mimir and VictoriaMetrics all
speak both. docs/METRICS.md says how to run it.

A series is ``{__name__=<sensor name>, service=<service id>, <sample labels>}``.
Timestamps are milliseconds (a sample's microseconds are rounded down).

Writes are all-or-nothing: every chunk is checked before anything is sent, the
batch is one request, and Prometheus appends a request whole or rolls it back.
Inside one batch the last sample of a (series, millisecond) wins, as on the
``database`` store. The engine itself refuses a sample older than the newest of
its series or older than its head block (``out of order``, ``out of bounds``),
and a second, different value at a stored timestamp (``duplicate sample``):
``RemoteWriteRefused`` (the API: 409), nothing stored, unless the engine is
configured with ``out_of_order_time_window``. Resending a batch unchanged is fine
(identical samples are accepted again).

Retention is the engine's (``--storage.tsdb.retention.time``): ``maintain`` has
nothing to drop and says so. Deleting a service leaves its samples in the engine
until they expire (deleting series needs Prometheus' admin API, off by default).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import chain

from ops.metrics.store import promgraphs, promreads
from ops.metrics.store.base import MaintenanceResult, MetricsStore, Row, SeriesKey
from ops.metrics.store.promhttp import RemoteWriteRefused, remote_write
from ops.metrics.store.promwire import encode_columns, label_problem, series_labels

__all__ = ["PrometheusStore", "RemoteWriteRefused"]

RETENTION_NOTE = (
    "the prometheus store keeps no samples itself: the engine's retention "
    "(--storage.tsdb.retention.time) expires them; nothing to drop here"
)


def labels_problem(labels: dict) -> str | None:
    """Why a sample with ``labels`` cannot be stored in Prometheus, or None."""
    for name, value in labels.items():
        problem = label_problem(name)
        if problem:
            return problem
        if value == "":
            return f"label {name!r} is empty (Prometheus treats an empty label as no label)"
    return None


def _columns(rows: list[Row]) -> dict[SeriesKey, tuple[list[int], list[float]]]:
    """Each series' timestamps (ms, a sample's microseconds rounded down) and values, in
    row order. One series (a sender's usual batch) is two list comprehensions."""
    if len({row[0] for row in rows}) == 1:
        return {rows[0][0]: ([row[1] // 1000 for row in rows], [row[2] for row in rows])}
    columns: dict[SeriesKey, tuple[list[int], list[float]]] = {}
    for key, us, value, _ in rows:
        found = columns.get(key)
        if found is None:
            found = columns[key] = ([], [])
        found[0].append(us // 1000)
        found[1].append(value)
    return columns


def _in_time_order(ms: list[int], values: list[float]) -> tuple[Sequence[int], Sequence[float]]:
    """Ascending and one sample per millisecond: the later of two samples of one ms wins
    (Prometheus would drop a sample not newer than the one before it in the request)."""
    if ms == sorted(ms) and len(set(ms)) == len(ms):  # C loops, no Python one a sample
        return ms, values
    latest = dict(zip(ms, values, strict=True))  # the later sample of a millisecond wins
    ordered = sorted(latest.items())
    return [when for when, _ in ordered], [value for _, value in ordered]


class PrometheusStore(MetricsStore):
    name = "prometheus"

    def series_problem(self, labels: dict) -> str | None:
        return labels_problem(labels)

    def write(self, series: dict[SeriesKey, dict], chunks: Iterable[list[Row]]) -> int:
        for key, labels in series.items():
            problem = labels_problem(labels)
            if problem:
                raise ValueError(f"series {key!r}: {problem}")
        # Every chunk is taken (a bad one raises) before anything is sent.
        taken = list(chunks)
        rows = taken[0] if len(taken) == 1 else list(chain.from_iterable(taken))
        if not rows:
            return 0
        remote_write(
            encode_columns(
                (series_labels(key[0], key[1], series[key]), *_in_time_order(ms, values))
                for key, (ms, values) in _columns(rows).items()
            )
        )
        return len(rows)

    def window_stats(self, queries):
        return promreads.window_stats(queries)

    def count_above(self, queries):
        return promreads.count_above(queries)

    def buckets(self, metrics, since, until, step_seconds, statistic="max"):
        return promgraphs.buckets(metrics, since, until, step_seconds, statistic)

    def points(self, service, metric, since, until, limit):
        return promgraphs.points(service, metric, since, until, limit)

    def maintain(self, now: datetime) -> MaintenanceResult:
        return MaintenanceResult(note=RETENTION_NOTE)
