"""The ``database`` store's reads for graphs: a metric's buckets and a series' raw points
(the evaluator's many-window reads are ``reads``)."""

from __future__ import annotations

from collections import defaultdict

from django.db import connection

from ops.metrics.store import compaction
from ops.metrics.store.base import Points, SeriesPoints, bucket_step
from ops.metrics.store.reads import SERIES, chunks, fetch, on_pg, relation
from ops.models import Sample, Series

BUCKET_STATISTICS = {"max": "max", "min": "min", "avg": "avg"}


def buckets(metrics, since, until, step_seconds: int, statistic: str = "max") -> dict:
    step = bucket_step(statistic, step_seconds, BUCKET_STATISTICS)
    pairs = sorted(set(metrics))
    if not pairs:
        return {}
    if on_pg():
        bucket = "(floor(extract(epoch FROM smp.ts) / %s) * %s)::bigint"
    else:
        bucket = "(CAST(strftime('%%s', smp.ts) AS INTEGER) / %s) * %s"
    to_db = (lambda v: v) if on_pg() else connection.ops.adapt_datetimefield_value
    graphs: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for chunk in chunks([(i, s, m) for i, (s, m) in enumerate(pairs)]):
        prefix, source, params = relation(["i", "service", "metric"], chunk)
        func = BUCKET_STATISTICS[statistic]
        samples = compaction.samples(since, since, until)
        sql = f"{prefix}SELECT q.service, q.metric, {bucket} AS b, {func}(smp.value) FROM {source} JOIN {SERIES} AS se ON se.service_id = q.service AND se.name = q.metric JOIN {samples} AS smp ON smp.series_id = se.id WHERE smp.ts > %s AND smp.ts <= %s GROUP BY q.service, q.metric, b"  # noqa: E501, S608
        steps, window = [step, step], [to_db(since), to_db(until)]
        params = params + steps + window if prefix else steps + params + window
        for service, metric, b, value in fetch(sql, params):
            graphs[(service, metric)][int(b)] = float(value)
    return dict(graphs)


def points(service: str, metric: str, since, until, limit: int) -> Points:
    labels = dict(
        Series.objects.filter(service_id=service, name=metric).values_list("id", "labels")
    )
    if not labels:
        return Points(series=[], truncated=False)
    if compaction.reaches_blocks(since):
        rows = compaction.points(list(labels), since, until, limit + 1)
    else:
        rows = list(
            Sample.objects.filter(series_id__in=list(labels), ts__gte=since, ts__lte=until)
            .order_by("-ts", "-series_id")
            .values_list("series_id", "ts", "value")[: limit + 1]
        )
    truncated = len(rows) > limit
    by_series: dict[int, list] = {}
    for series_id, ts, value in reversed(rows[:limit]):
        by_series.setdefault(series_id, []).append((ts, value))
    return Points(
        series=[SeriesPoints(labels=labels[sid], points=pts) for sid, pts in by_series.items()],
        truncated=truncated,
    )
