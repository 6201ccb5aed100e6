"""The ``prometheus`` store's reads, in PromQL: one request per group of queries.

A group is every query sharing metric, window, statistic and evaluation time (the
SLOs of one pass sharing a target, a window and a percentile, say): its services go
into one selector, ``{__name__="latency", service=~"a|b|c"}``, and one request asks
for the statistic, ``count_over_time`` and the newest sample's ``timestamp`` of every
series at once (tagged with an ``hms_stat`` label, joined with ``or``).

A metric read covers every label set of the service, as on the ``database`` store.
Sums, counts, minima, maxima and ``last`` combine across series exactly; a
percentile does not, so a service with two or more label sets in the window gets
its samples fetched raw (one more request for the whole group) and the same
interpolation as ``percentile_cont`` (``quantile_over_time`` interpolates so too).

Windows are ``(at - window, at]``: Prometheus 2.x selects ``[at - range, at]``
(both ends in), so the range is written ``window - 1ms`` (samples are stored to
the millisecond). A newest sample older than the query lookback (``timestamp()``
sees 5 minutes back by default) is found by a companion subquery stepping every
minute through the window, for the few series that need it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from ops.metrics.percentile import percentile
from ops.metrics.store.base import WindowStat, percentile_of
from ops.metrics.store.promhttp import query, selector, to_ms
from ops.metrics.store.promwire import SERVICE_LABEL, metric_name
from ops.metrics.validation import UNIX_EPOCH

# The subquery step finding a newest sample older than the lookback; at most the
# engine's --query.lookback-delta (5 minutes by default).
NEWEST_STEP = "60s"
OVER_TIME = {"avg": "sum_over_time", "sum": "sum_over_time", "min": "min_over_time",
             "max": "max_over_time", "last": "last_over_time", "count": None}  # fmt: skip


_NOT_IDENTITY = frozenset({"hms_stat", "__name__"})


def tagged(expr: str, tag: str) -> str:
    return f'label_replace({expr}, "hms_stat", "{tag}", "", "")'


def window_range(window_ms: int) -> str:
    """A range selector holding ``(at - window, at]`` at millisecond resolution."""
    return f"[{max(window_ms - 1, 1)}ms]"


def series_id(metric: dict) -> tuple:
    """A series' identity in an answer: its labels without the tag and the name (which
    ``last_over_time`` keeps and the other functions drop)."""
    return tuple(sorted((k, v) for k, v in metric.items() if k not in _NOT_IDENTITY))


def ms_of(seconds_text: str) -> int:
    return round(float(seconds_text) * 1000)


def moment(ms: int | None):
    return None if ms is None else UNIX_EPOCH + timedelta(milliseconds=ms)


def _statistic_expr(statistic: str, sel: str, rng: str) -> str | None:
    pct = percentile_of(statistic)
    if pct is not None:
        return f"quantile_over_time({pct / 100:g}, {sel}{rng})"
    func = OVER_TIME[statistic]
    return None if func is None else f"{func}({sel}{rng})"


def _per_series(metric: str, services, window_ms: int, statistic: str, at_ms: int) -> dict:
    """{series id: {"count", "newest", "value"}} for the series with samples in the window."""
    sel, rng = selector(metric, services), window_range(window_ms)
    parts = [tagged(f"count_over_time({sel}{rng})", "count"), tagged(f"timestamp({sel})", "newest")]
    value_expr = _statistic_expr(statistic, sel, rng)
    if value_expr:
        parts.append(tagged(value_expr, "value"))
    found: dict[tuple, dict] = defaultdict(dict)
    for item in query(" or ".join(parts), at_ms):
        found[series_id(item["metric"])][item["metric"]["hms_stat"]] = item["value"][1]
    series = {sid: f for sid, f in found.items() if "count" in f}
    for f in series.values():
        f["count"] = int(float(f["count"]))
        f["newest"] = ms_of(f["newest"]) if "newest" in f else None
    late = {dict(sid)[SERVICE_LABEL] for sid, f in series.items() if f["newest"] is None}
    if late:
        sub = f"max_over_time(timestamp({selector(metric, late)})[{rng[1:-1]}:{NEWEST_STEP}])"
        for item in query(sub, at_ms):
            sid = series_id(item["metric"])
            if sid in series:
                series[sid]["newest"] = ms_of(item["value"][1])
    return series


def _raw_values(metric: str, services, window_ms: int, at_ms: int) -> dict[str, list[float]]:
    """{service: every sample value in the window, all label sets together}."""
    values: dict[str, list[float]] = defaultdict(list)
    for item in query(f"{selector(metric, services)}{window_range(window_ms)}", at_ms):
        values[item["metric"][SERVICE_LABEL]].extend(float(v) for _, v in item["values"])
    return values


def _combine(statistic: str, series: list[dict]) -> float | None:
    count = sum(f["count"] for f in series)
    if not count:
        return None
    if statistic == "count":
        return float(count)
    values = [float(f["value"]) for f in series]
    if statistic == "sum":
        return sum(values)
    if statistic == "avg":
        return sum(values) / count
    if statistic == "min":
        return min(values)
    if statistic == "max":
        return max(values)
    if statistic == "last":  # the newest sample; ties between label sets: the largest
        return max((f["newest"], float(f["value"])) for f in series)[1]
    return values[0]  # a percentile of the service's only series in the window


def _group(metric: str, window: int, statistic: str, at_ms: int, services: set) -> dict:
    """{service: (value, samples, newest ms)} for one group, in one or two requests."""
    name = metric_name(metric)
    by_service: dict[str, list[dict]] = defaultdict(list)
    for sid, fields in _per_series(name, services, window * 1000, statistic, at_ms).items():
        by_service[dict(sid)[SERVICE_LABEL]].append(fields)
    answers = {}
    pooled = [s for s, series in by_service.items() if len(series) > 1]
    pct = percentile_of(statistic)
    if pct is not None and pooled:
        for service, values in _raw_values(name, pooled, window * 1000, at_ms).items():
            value = percentile(sorted(values), pct)
            newest = max(f["newest"] for f in by_service[service])
            by_service[service] = [{"count": len(values), "value": value, "newest": newest}]
    for service in services:
        series = by_service.get(service, [])
        newest = max((f["newest"] for f in series), default=None)
        answers[service] = (_combine(statistic, series), sum(f["count"] for f in series), newest)
    return answers


def window_stats(queries) -> list[WindowStat]:
    groups: dict[tuple, set] = defaultdict(set)
    for q in queries:
        groups[(q.metric, q.window_seconds, q.statistic, to_ms(q.at))].add(q.service)
    answers = {}
    for (metric, window, statistic, at_ms), services in groups.items():
        for service, answer in _group(metric, window, statistic, at_ms, services).items():
            answers[(metric, window, statistic, at_ms, service)] = answer
    result = []
    for q in queries:
        key = (q.metric, q.window_seconds, q.statistic, to_ms(q.at), q.service)
        value, samples, newest = answers[key]
        result.append(WindowStat(query=q, value=value, samples=samples, newest=moment(newest)))
    return result


def raw_points(metric: str, services, since_ms: int, until_ms: int) -> list[tuple[dict, list]]:
    """[(labels, [(ms, value), ...])] of every series in ``[since, until]`` (both ends in)."""
    rng = f"[{max(until_ms - since_ms, 1)}ms]"
    answer = []
    for item in query(f"{selector(metric_name(metric), services)}{rng}", until_ms):
        points = [(ms_of(t), float(v)) for t, v in item["values"]]
        answer.append((item["metric"], [p for p in points if p[0] >= since_ms]))
    return answer


def count_above(queries) -> dict:
    """Counting samples above a threshold needs the samples: PromQL 2.x cannot filter a
    range by value, so each (metric, at) group fetches its raw window once."""
    groups: dict[tuple, list] = defaultdict(list)
    for q in queries:
        groups[(q.metric, to_ms(q.at))].append(q)
    result = {}
    for (metric, at_ms), group in groups.items():
        earliest = min(to_ms(s) for q in group for s in q.starts) + 1
        samples: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for labels, points in raw_points(metric, {q.service for q in group}, earliest, at_ms):
            samples[labels[SERVICE_LABEL]].extend(points)
        for q in group:
            mine = samples.get(q.service, [])
            counts = []
            for start in q.starts:
                start_ms = to_ms(start)
                inside = [v for ms, v in mine if ms > start_ms]
                counts.append((len(inside), sum(1 for v in inside if v > q.threshold)))
            result[q.key] = counts
    return result
