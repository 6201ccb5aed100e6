"""The ``prometheus`` store's reads for graphs: bucketed values and raw points.

``buckets`` is one ``query_range`` per metric name: each step is evaluated at the last
millisecond of its bucket over a range of the bucket's length, so the bucket
``[b, b + step)`` (aligned to the Unix epoch, as on the ``database`` store) holds
exactly its samples; label sets of a service are combined with ``max by (service)``
(``min``; ``avg`` is ``sum / count``). A bucket cut by ``since`` or ``until`` is
computed from its raw samples (at most two more requests), so nothing outside
``(since, until]`` leaks into a graph.
"""

from __future__ import annotations

from collections import defaultdict

from ops.metrics.store.base import Points, SeriesPoints, bucket_step
from ops.metrics.store.promhttp import query_range, selector, to_ms
from ops.metrics.store.promreads import moment, ms_of, raw_points
from ops.metrics.store.promwire import SERVICE_LABEL, metric_name

BUCKET_STATISTICS = ("max", "min", "avg")
MAX_STEPS = 10_000  # Prometheus answers at most 11,000 points per series per range query


def _pooled(statistic: str, sel: str, rng: str) -> str:
    if statistic == "avg":
        return (
            f"sum by (service) (sum_over_time({sel}{rng})) "
            f"/ sum by (service) (count_over_time({sel}{rng}))"
        )
    return f"{statistic} by (service) ({statistic}_over_time({sel}{rng}))"


def _from_raw(statistic: str, values: list[float]) -> float:
    if statistic == "avg":
        return sum(values) / len(values)
    return max(values) if statistic == "max" else min(values)


def _full_buckets(graphs, metric, services, first, last, step_ms, statistic) -> None:
    """Buckets starting at ``first`` .. ``last`` (ms, both in), every one whole."""
    expr = _pooled(statistic, selector(metric_name(metric), services), f"[{step_ms - 1}ms]")
    start = first
    while start <= last:
        end = min(last, start + (MAX_STEPS - 1) * step_ms)
        for item in query_range(expr, start + step_ms - 1, end + step_ms - 1, step_ms):
            graph = graphs[(item["metric"][SERVICE_LABEL], metric)]
            for t, v in item["values"]:
                graph[(ms_of(t) - step_ms + 1) // 1000] = float(v)
        start = end + step_ms


def _partial_bucket(graphs, metric, services, lo_ms, hi_ms, step_ms, statistic) -> None:
    """The bucket holding ``[lo, hi]`` (ms, both in), from its raw samples."""
    values: dict[str, list[float]] = defaultdict(list)
    for labels, points in raw_points(metric, services, lo_ms, hi_ms):
        values[labels[SERVICE_LABEL]].extend(v for _, v in points)
    bucket = (lo_ms // step_ms) * step_ms // 1000
    for service, found in values.items():
        if found:
            graphs[(service, metric)][bucket] = _from_raw(statistic, found)


def buckets(metrics, since, until, step_seconds: int, statistic: str = "max") -> dict:
    step = bucket_step(statistic, step_seconds, BUCKET_STATISTICS)
    by_metric: dict[str, set] = defaultdict(set)
    for service, metric in metrics:
        by_metric[metric].add(service)
    lo, hi, step_ms = to_ms(since) + 1, to_ms(until), step * 1000  # (since, until]
    graphs: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    if hi < lo:
        return {}
    first_bucket, last_bucket = lo // step_ms * step_ms, hi // step_ms * step_ms
    full_first = first_bucket if first_bucket == lo else first_bucket + step_ms
    full_last = last_bucket if last_bucket + step_ms - 1 == hi else last_bucket - step_ms
    for metric, services in by_metric.items():
        if full_first <= full_last:
            _full_buckets(graphs, metric, services, full_first, full_last, step_ms, statistic)
        if full_first > full_last and first_bucket == last_bucket:
            _partial_bucket(graphs, metric, services, lo, hi, step_ms, statistic)
            continue
        if full_first != first_bucket:
            edge_hi = min(first_bucket + step_ms - 1, hi)
            _partial_bucket(graphs, metric, services, lo, edge_hi, step_ms, statistic)
        if full_last != last_bucket and last_bucket != first_bucket:
            _partial_bucket(graphs, metric, services, last_bucket, hi, step_ms, statistic)
    return {key: graph for key, graph in graphs.items() if graph}


def points(service: str, metric: str, since, until, limit: int) -> Points:
    """Raw points in ``[since, until]`` per label set, oldest first, the newest ``limit``."""
    found = []
    raw = raw_points(metric, [service], to_ms(since), to_ms(until))
    for index, (labels, pts) in enumerate(raw):
        own = {k: v for k, v in labels.items() if k not in ("__name__", SERVICE_LABEL)}
        found.extend((ms, index, own, value) for ms, value in pts)
    found.sort(key=lambda p: (p[0], p[1]), reverse=True)
    truncated = len(found) > limit
    by_labels: dict[tuple, SeriesPoints] = {}
    for ms, _, own, value in reversed(found[:limit]):
        key = tuple(sorted(own.items()))
        if key not in by_labels:
            by_labels[key] = SeriesPoints(labels=own)
        by_labels[key].points.append((moment(ms), value))
    return Points(series=list(by_labels.values()), truncated=truncated)
