"""The beat's pass on PostgreSQL in one statement: the SLOs, their windows and the steady
SLOs' new values, read, computed and written without leaving the server.

When the metrics store can join its windows into a statement (``window_join``: the
``database`` store on PostgreSQL), the pass sends ONE statement instead of the SLO read
(11 values a SLO out), the window statement (the windows in, 2 values a SLO out) and the
value UPDATE (3 values a SLO in): ``ops_slo`` joined with each SLO's window, an
``UPDATE … FROM`` that relation for the *steady* SLOs, and an answer of only the others.

A SLO is steady when the comparison ``decide`` would make cannot move it: its window
has samples, at least ``min_samples`` of them, a value that is a number, the stored
state is the one the comparison with the threshold gives (``breached`` above it,
``healthy`` at or below), and its maintenance flag is already what ``inside`` says.
The statement decides nothing else: every other SLO (no data, insufficient data, a
comparison that flips, a flag to flip) comes back whole, and ``ops.slo`` decides it with
``decide`` as on every other path. ``tests/ops/test_slo_steady.py`` holds the steady
test to ``decide`` on every case.

A SLO whose window the join cannot answer (one starting before the store's ``since``,
the read horizon; a bad window or a percentile that does not read back from its
statistic name) is not steady either and comes back without a value: ``ops.slo`` reads
it through ``window_values``.

Every write is guarded ``evaluated_at IS NULL OR evaluated_at <= at``, as in
``slo_writes``. With ``asynchronous`` the statement also sets ``synchronous_commit``
off for the transaction when every SLO is steady and it wrote a value (the rule of
``HMS_SLO_ASYNC_COMMIT``: a pass that moves no state and flips no flag).
"""

from __future__ import annotations

from datetime import datetime

from django.db import connection

from ops.metrics.store import arrays
from ops.models import SLO

TABLE = SLO._meta.db_table
# ``percentile_statistic`` names a percentile with 6 significant digits ("p99.9"): one
# with at most 6 reads back as the same number, so ``percentile / 100`` is the fraction
# ``window_values`` would use.
_PLAIN = (
    "window_seconds > 0 AND percentile > 0 AND percentile <= 100 "
    "AND percentile::text ~ '^[0-9]+([.][0-9]+)?$' "
    "AND length(replace(ltrim(percentile::text, '0'), '.', '')) <= 6 "
    "AND %(at)s - window_seconds * interval '1 second' >= %(since)s"
)
_STEADY = (
    "coalesce(s.plain AND w.n > 0 AND w.n >= s.min_samples AND w.v <> 'NaN'::float8 "
    "AND s.state = CASE WHEN w.v > s.threshold THEN 'breached' ELSE 'healthy' END "
    "AND s.in_maintenance = s.inside, false)"
)
# The columns of ``ops.slo.Row`` before the window's answer, then plain, value, count.
COLUMNS = (
    "id, service_id, threshold, state, value, sample_count, min_samples, in_maintenance, "
    "target, window_seconds, percentile"
)


def _statement(lateral: str) -> str:
    return (
        f"WITH s AS MATERIALIZED (SELECT {COLUMNS}, {_PLAIN} AS plain, "  # noqa: S608
        f"service_id = ANY(%(inside)s::text[]) AS inside FROM {TABLE}), "
        f"w AS MATERIALIZED (SELECT s.*, w.n, w.v, {_STEADY} AS steady FROM s "
        f"CROSS JOIN {lateral} AS w), "
        f"written AS (UPDATE {TABLE} AS o SET value = w.v, sample_count = w.n, "
        "evaluated_at = %(at)s FROM w WHERE o.id = w.id AND w.steady "
        "AND (o.value IS DISTINCT FROM w.v OR o.sample_count IS DISTINCT FROM w.n) "
        "AND (o.evaluated_at IS NULL OR o.evaluated_at <= %(at)s) RETURNING 1), "
        "asynchronous AS (SELECT set_config('synchronous_commit', 'off', true) "
        "WHERE %(asynchronous)s AND EXISTS (SELECT 1 FROM written) "
        "AND NOT EXISTS (SELECT 1 FROM w WHERE NOT w.steady)) "
        "SELECT t.total, (SELECT count(*) FROM written), (SELECT count(*) FROM asynchronous), "
        f"x.* FROM (SELECT count(*) AS total FROM s) AS t LEFT JOIN (SELECT {COLUMNS}, "
        "plain, v, n FROM w WHERE NOT w.steady) AS x ON true"
    )


def steady_pass(join, at: datetime, inside: set[str], asynchronous: bool):
    """(SLOs, steady values written, commit made asynchronous, the other SLOs' rows).

    Each row is ``ops.slo.Row``'s columns up to ``percentile``, then whether the join
    answered its window (plain), the window's value and its sample count."""
    fraction = "s.percentile / 100::float8"
    start = "%(at)s - s.window_seconds * interval '1 second'"
    # Only the plain SLOs' windows are read.
    lateral = join.lateral("s.service_id", "s.target", start, "%(at)s", fraction, "s.plain")
    params = {
        "at": at,
        "since": join.since,
        "inside": arrays.literal(sorted(inside), "text"),
        "asynchronous": asynchronous,
    }
    with connection.cursor() as cursor:
        # One round trip: SET LOCAL holds for the transaction (JIT costs more than it saves).
        cursor.execute("SET LOCAL jit = off; " + _statement(lateral), params)
        cursor.nextset()
        answer = cursor.fetchall()
    total, written, made_async = answer[0][:3]
    rows = [row[3:] for row in answer if row[3] is not None]
    return total, written, bool(made_async), rows
