"""The ``database`` store's reads: many queries per statement, on PostgreSQL and SQLite.

The queries travel as rows of a relation ``q`` joined to the samples: PostgreSQL
unnests one array per column (one statement whatever the number of queries), SQLite
gets a ``VALUES`` list (one statement per ``SQLITE_CHUNK`` queries). On PostgreSQL
the window statement is ``window_sql``'s: each query a ``LATERAL`` subquery that walks
the ``(series_id, ts)`` key of its own series (index-only, the value is in the index)
in the partitions its window touches; ``percentile_cont`` does the interpolation.
SQLite fetches the sorted values and ``ops.metrics.percentile`` interpolates the same
way. ``window_values`` is ``window_stats`` for the SLO pass: tuples in, (value,
samples) out, no newest time and no object per query.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

from django.db import connection

from ops.metrics.percentile import percentile
from ops.metrics.store import arrays, compaction, window_sql
from ops.metrics.store.base import WindowQuery, WindowStat, percentile_of
from ops.models import Sample, Series

SAMPLE, SERIES = Sample._meta.db_table, Series._meta.db_table
SQLITE_CHUNK = 2000
PG_TYPES = {"i": "int", "service": "text", "metric": "text", "start": "timestamptz",
            "at": "timestamptz", "frac": "float8", "threshold": "float8"}  # fmt: skip


def on_pg() -> bool:
    return connection.vendor == "postgresql"


def _aware(value) -> datetime | None:
    if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
        return value
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def relation(columns: list[str], rows: list[tuple]) -> tuple[str, str, list]:
    """(WITH prefix, FROM item named ``q``, params) carrying ``rows`` as relation ``q``.

    PostgreSQL: ``unnest`` of one array per column, each ONE text literal (``arrays``).
    """
    if on_pg():
        kinds = [PG_TYPES[c] for c in columns]
        casts = ", ".join(f"%s::{k}[]" for k in kinds)
        params = []
        for kind, col in zip(kinds, zip(*rows, strict=True), strict=True):
            # A pass's rows share a few instants: each formatted once.
            iso = {v: v.isoformat() for v in set(col)} if kind == "timestamptz" else None
            params.append(arrays.literal(col, kind, iso))
        return "", f"unnest({casts}) AS q({', '.join(columns)})", params
    to_db = connection.ops.adapt_datetimefield_value
    values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(rows))
    params = [to_db(v) if isinstance(v, datetime) else v for row in rows for v in row]
    return f"WITH q({', '.join(columns)}) AS (VALUES {values}) ", "q", params


def chunks(rows: list) -> list[list]:
    size = max(len(rows), 1) if on_pg() else SQLITE_CHUNK  # PostgreSQL: one statement
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _sqlite_window(rows: list[tuple]) -> dict[int, list[tuple]]:
    """{i: [(value, ts) sorted by value]} for every row (service, metric, start, at)."""
    found: dict[int, list[tuple]] = defaultdict(list)
    for chunk in chunks(rows):
        prefix, source, params = relation(["i", "service", "metric", "start", "at"], chunk)
        sql = f"{prefix}SELECT q.i, smp.value, smp.ts FROM {source} JOIN {SERIES} AS se ON se.service_id = q.service AND se.name = q.metric JOIN {SAMPLE} AS smp ON smp.series_id = se.id AND smp.ts > q.start AND smp.ts <= q.at ORDER BY q.i, smp.value"  # noqa: E501, S608
        for i, value, ts in fetch(sql, params):
            found[i].append((value, _aware(ts)))
    return found


def _from_values(statistic: str, pairs: list[tuple]) -> float | None:
    values = [v for v, _ in pairs]
    if not values:
        return None
    pct = percentile_of(statistic)
    if pct is not None:
        return percentile(values, pct)
    if statistic == "last":
        return max(pairs, key=lambda p: (p[1], p[0]))[0]
    if statistic == "count":
        return float(len(values))
    return float(
        {"avg": lambda v: sum(v) / len(v), "min": min, "max": max, "sum": sum}[statistic](values)
    )


_AGG_INDEX = {"avg": 0, "min": 1, "max": 2, "sum": 3, "last": 4}


def _window_key(q, starts: dict) -> tuple:
    """(service, metric, start, at, statistic); ``starts``: each (at, window)'s start, once."""
    window = (q.at, q.window_seconds)
    start = starts.get(window)
    if start is None:
        start = starts[window] = q.at - timedelta(seconds=q.window_seconds)
    return (q.service, q.metric, start, q.at, q.statistic)


def _answers(keys: list[tuple], newest: bool) -> tuple[list[int], dict[int, tuple]]:
    """For keys (service, metric, start, at, statistic): (each key's number among the
    distinct ones, {number: (number, samples, newest, value)}); ``newest`` integer
    microseconds on PostgreSQL (None when not asked for), an aware datetime on SQLite."""
    distinct: dict[tuple, int] = {}
    which = [distinct.setdefault(key, len(distinct)) for key in keys]
    answers: dict[int, tuple] = {}
    if on_pg():
        pct, agg = [], {}
        fractions = {s: percentile_of(s) for s in {key[4] for key in distinct}}
        for key, i in distinct.items():
            p = fractions[key[4]]
            if p:
                pct.append((i, *key[:4], p / 100.0))
            else:
                agg.setdefault(key[:4], len(agg))
        if pct:
            answers = window_sql.window("pct", pct, newest)
        if agg:
            found = window_sql.window("agg", [(i, *key) for key, i in agg.items()], newest)
            for key, i in distinct.items():
                if fractions[key[4]] is None:
                    _, n, last, *values = found[agg[key[:4]]]
                    value = float(n) if key[4] == "count" else values[_AGG_INDEX[key[4]]]
                    answers[i] = (i, n, last, None if not n else value)
    else:
        found = _sqlite_window([(i, *key[:4]) for key, i in distinct.items()])
        for key, i in distinct.items():
            pairs = found.get(i, [])
            last = max((ts for _, ts in pairs), default=None)
            answers[i] = (i, len(pairs), last, _from_values(key[4], pairs))
    return which, answers


def window_stats(queries) -> list[WindowStat]:
    starts: dict[tuple, datetime] = {}
    which, answers = _answers([_window_key(q, starts) for q in queries], newest=True)
    made: dict[int, datetime] = {}
    to_time = (lambda us: window_sql.newest_time(us, made)) if on_pg() else _aware
    result = []
    for q, i in zip(queries, which, strict=True):
        _, n, newest, value = answers[i]
        value = None if value is None else float(value)
        result.append(WindowStat(query=q, value=value, samples=n, newest=to_time(newest)))
    return result


def window_values(queries) -> list[tuple[float | None, int]]:
    """``window_stats`` of (service, metric, window_seconds, at, statistic) tuples, without
    the objects and the newest sample's time: (value, samples) per query."""
    starts: dict[tuple, datetime] = {}
    checked = set()
    keys = []
    for service, metric, seconds, at, statistic in queries:
        if (seconds, statistic) not in checked:  # WindowQuery's checks, once a kind
            WindowQuery(service, metric, seconds, at, statistic)
            checked.add((seconds, statistic))
        start = starts.get((at, seconds))
        if start is None:
            start = starts[(at, seconds)] = at - timedelta(seconds=seconds)
        keys.append((service, metric, start, at, statistic))
    which, answers = _answers(keys, newest=False)
    values = []
    for i in which:
        _, n, _, value = answers[i]
        values.append((None if value is None else float(value), n))
    return values


def count_above(queries) -> dict:
    groups: dict[tuple, dict[tuple, int]] = defaultdict(dict)
    for q in queries:
        group = groups[(tuple(q.starts), q.at)]
        group.setdefault((q.service, q.metric, float(q.threshold)), len(group))
    counted: dict[tuple, list] = {}
    for (starts, at), distinct in groups.items():
        filters = ", ".join(
            "count(*) FILTER (WHERE smp.ts > %s), "
            "count(*) FILTER (WHERE smp.ts > %s AND smp.value > q.threshold)"
            for _ in starts
        )
        rows = [(i, *key) for key, i in distinct.items()]
        to_db = (lambda v: v) if on_pg() else connection.ops.adapt_datetimefield_value
        for chunk in chunks(rows):
            prefix, source, params = relation(["i", "service", "metric", "threshold"], chunk)
            samples = compaction.samples(min(starts), min(starts), at)
            sql = f"{prefix}SELECT q.i, {filters} FROM {source} JOIN {SERIES} AS se ON se.service_id = q.service AND se.name = q.metric JOIN {samples} AS smp ON smp.series_id = se.id WHERE smp.ts > %s AND smp.ts <= %s GROUP BY q.i"  # noqa: E501, S608
            cuts = [to_db(s) for s in starts for _ in (0, 1)]
            bounds = [to_db(min(starts)), to_db(at)]
            # SQLite's VALUES list comes first in the statement, PostgreSQL's arrays after
            # the filters.
            params = params + cuts + bounds if prefix else cuts + params + bounds
            for i, *numbers in fetch(sql, params):
                counted[((starts, at), i)] = [
                    (numbers[2 * j], numbers[2 * j + 1]) for j in range(len(starts))
                ]
    result = {}
    for q in queries:
        group_key = (tuple(q.starts), q.at)
        i = groups[group_key][(q.service, q.metric, float(q.threshold))]
        zeros = [(0, 0)] * len(q.starts)
        result[q.key] = counted.get((group_key, i), zeros)
    return result
