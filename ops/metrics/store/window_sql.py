"""The ``database`` store's window statement on PostgreSQL: many windows in one statement.

The windows travel as two relations: ``q`` (service, metric, and ``k``, the number of
the window's (start, at[, fraction]) in ``c``) and ``c``, the few distinct instants and
fractions of the call. A tick's 1,000 windows share one or two (start, at) pairs: sent
once each instead of once a window, the server parses two timestamps instead of 2,000
(``timestamptz_in`` was ~2 ms of the statement) and Python formats none per window.
Each window is a ``LATERAL`` subquery that walks the ``(series_id, ts)`` key of its
series (index-only) in the partitions between the statement's outer bounds, which are
constants, so the planner prunes the day partitions once; ``percentile_cont`` does the
interpolation.

``WindowJoin`` is the same per-window subquery for a caller's own statement (the SLO
tick joins it to ``ops_slo``): the windows come from the caller's relation instead of
``q``, so the tick's SLOs are never sent out and back.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection

from ops.metrics.store import arrays, compaction, partitions
from ops.models import Sample, Series

SAMPLE, SERIES = Sample._meta.db_table, Series._meta.db_table

_SELECTS = {
    "pct": ("percentile_cont(c.frac) WITHIN GROUP (ORDER BY smp.value) AS v", "w.v"),
    "agg": (
        "avg(smp.value) AS avg, min(smp.value) AS min, max(smp.value) AS max, "
        "sum(smp.value) AS sum, "
        "(array_agg(smp.value ORDER BY smp.ts DESC, smp.value DESC))[1] AS last",
        "w.avg, w.min, w.max, w.sum, w.last",
    ),
}
# The newest sample's time as integer microseconds since the epoch (exact: ``extract``
# gives a numeric), turned into a datetime in Python: loading 10,000 timestamptz values
# through psycopg cost more than the rest of the answer.
_NEWEST_US = "(extract(epoch FROM max(smp.ts)) * 1000000)::bigint"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_WINDOW_JOIN = """
    FROM {series} AS se JOIN {samples} AS smp ON smp.series_id = se.id
    WHERE se.service_id = q.service AND se.name = q.metric
      AND smp.ts > c.start AND smp.ts <= c.at AND smp.ts > %s AND smp.ts <= %s"""


def _by_path(rows: list[tuple]) -> list[tuple[datetime, list[tuple]]]:
    """(now, rows) per read path: the windows after the read horizon (every live tick's)
    in one statement on raw rows, those reaching before it in another on raw + blocks,
    so one long window does not send every query through the union."""
    now = datetime.now(UTC)
    horizon = compaction.read_horizon(now)  # once: the same rule as ``reaches_blocks``
    paths: dict[bool, list[tuple]] = defaultdict(list)
    before = {start: aware(start) < horizon for start in {row[3] for row in rows}}
    for row in rows:
        paths[before[row[3]]].append(row)
    return [(now, group) for group in paths.values()]


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _fetch(sql: str, params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        # One round trip: the two statements run as one implicit transaction, so
        # SET LOCAL holds for the SELECT only (JIT costs more than it saves here).
        cursor.execute("SET LOCAL jit = off; " + sql, params)
        cursor.nextset()
        return cursor.fetchall()


def window(kind: str, rows: list[tuple], newest: bool = True) -> dict[int, tuple]:
    """{i: (i, samples, newest, value…)} for rows (i, service, metric, start, at[, frac]):
    ``pct`` rows carry the fraction and give the percentile; ``agg`` rows give avg, min,
    max, sum and last. ``newest`` (integer microseconds) is None when not asked for."""
    select, values = _SELECTS[kind]
    found = {}
    for now, group in _by_path(rows):
        combos: dict[tuple, int] = {}
        ks = [combos.setdefault(row[3:], len(combos) + 1) for row in group]
        columns = list(zip(*combos, strict=True))
        iso = {v: v.isoformat() for v in {*columns[0], *columns[1]}}
        params = [
            arrays.literal([row[1] for row in group], "text"),
            arrays.literal([row[2] for row in group], "text"),
            arrays.literal(ks),
            arrays.literal(columns[0], "timestamptz", iso),
            arrays.literal(columns[1], "timestamptz", iso),
            *([arrays.literal(columns[2])] if kind == "pct" else []),
            min(map(aware, columns[0])),
            max(map(aware, columns[1])),
        ]
        samples = compaction.samples(params[-2], "c.start", "c.at", now)
        frac = ", %s::float8[]" if kind == "pct" else ""
        newest_sql = _NEWEST_US if newest else "NULL::bigint"
        sql = (
            f"SELECT q.o, w.n, w.newest, {values} "  # noqa: S608
            "FROM unnest(%s::text[], %s::text[], %s::int[]) WITH ORDINALITY "
            "AS q(service, metric, k, o) "
            f"JOIN unnest(%s::timestamptz[], %s::timestamptz[]{frac}) WITH ORDINALITY "
            f"AS c(start, at{', frac' if frac else ''}, k) ON c.k = q.k "
            f"CROSS JOIN LATERAL (SELECT count(*) AS n, {newest_sql} AS newest, {select} "
            f"{_WINDOW_JOIN.format(series=SERIES, samples=samples)}) AS w"
        )
        ids = [row[0] for row in group]
        for o, *answer in _fetch(sql, params):
            found[ids[o - 1]] = (ids[o - 1], *answer)
    return found


def newest_time(us: int | None, made: dict) -> datetime | None:
    """``us`` (integer microseconds) as a datetime, each instant made once (``made``)."""
    if us is not None and us not in made:
        made[us] = EPOCH + timedelta(microseconds=us)
    return None if us is None else made[us]


@dataclass(frozen=True)
class WindowJoin:
    """The window subquery for a caller's statement: ``lateral`` gives SQL (a ``LATERAL``
    item with columns ``n``, samples, and ``v``, the percentile; None when empty) over
    the caller's SQL expressions. It reads raw rows only, so it answers only windows
    starting at or after ``since`` (the read horizon when asked); the caller must send
    the others through ``window_values``."""

    since: datetime

    def lateral(
        self, service: str, metric: str, start: str, at: str, fraction: str, when: str = "true"
    ) -> str:
        """``at`` must be a constant of the statement (a parameter): with ``since`` it
        bounds the samples, so the planner prunes the day partitions once. ``when``: a
        condition on the caller's row; where it is false the window is not read (0, None)."""
        since = f"'{self.since.isoformat()}'::timestamptz"
        return (
            "LATERAL (SELECT count(*) AS n, "  # noqa: S608
            f"percentile_cont({fraction}) WITHIN GROUP (ORDER BY smp.value) AS v "
            f"FROM {SERIES} AS se JOIN {partitions.TABLE} AS smp ON smp.series_id = se.id "
            f"WHERE ({when}) AND se.service_id = {service} AND se.name = {metric} "
            f"AND smp.ts > {start} AND smp.ts <= {at} AND smp.ts > {since} AND smp.ts <= {at})"
        )


def join() -> WindowJoin:
    """The join for a statement sent now (``since``: the read horizon, as ``_by_path``)."""
    return WindowJoin(since=compaction.read_horizon(datetime.now(UTC)))
