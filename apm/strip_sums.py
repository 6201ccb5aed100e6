"""The summary strip's least-squares sums as one PostgreSQL statement, written once.

What ``apm.summary.orm_quarter_sums`` asks the ORM for (one row a promise measured this
quarter: the baseline's id, program, target, operator and threshold, then
``regr_count/avgx/avgy/sxx/sxy`` of ``actual`` over x in days since the quarter's start,
``DaysSince``'s expression), for the ``Deviation.objects.counted()`` runs with a value
(out of maintenance, a measured status) between the quarter's start and ``until``. Each
baseline's runs are aggregated in a ``LATERAL`` read of its own (its index, in the
table's order as the seq scan reads them: the same rows added in the same order, so
the same sums) instead of a seq scan of every deviation hashed and joined to the
baselines: ~16 against ~24 ms at 36,000 deviations (bench/README.md, ``dash5``).
x is written once (the inner select) so the five aggregates share one running state,
as in the ORM's statement. The text does not depend on the number of programs (their
ids are one array parameter), so ``prepared_reads`` prepares it once per connection
and the ORM compiles nothing (~3 ms a dashboard).
"""

from __future__ import annotations

from datetime import datetime

from apm.models import Baseline, Deviation
from apm.review.status import MEASURED

_STATUSES = ", ".join(f"'{Deviation.Status(status).value}'" for status in MEASURED)
_BASELINE = ("id", "program_id", "target_value", "compare_op", "threshold_pct")
_FIGURES = ("n", "mean_x", "mean_y", "sxx", "sxy")
_REGR = ("regr_count", "regr_avgx", "regr_avgy", "regr_sxx", "regr_sxy")

_AGGREGATES = ", ".join(
    f"{regr}(v.y, v.x) AS {figure}" for regr, figure in zip(_REGR, _FIGURES, strict=True)
)
_COLUMNS = ", ".join([f"b.{column}" for column in _BASELINE] + [f"s.{f}" for f in _FIGURES])
# model names and constants only: every value is a parameter
SQL = (
    f"SELECT {_COLUMNS} FROM {Baseline._meta.db_table} b"  # noqa: S608
    f" CROSS JOIN LATERAL (SELECT {_AGGREGATES} FROM (SELECT d.actual AS y,"
    " (date_part('epoch', d.evaluated_at - %s::timestamptz) / 86400.0) AS x"
    f" FROM {Deviation._meta.db_table} d WHERE d.baseline_id = b.id"
    " AND d.evaluated_at >= %s::timestamptz AND d.evaluated_at < %s::timestamptz"
    f" AND NOT d.in_maintenance AND d.status IN ({_STATUSES}) AND d.actual IS NOT NULL) v) s"
    " WHERE b.active AND b.program_id = ANY(%s::bigint[]) AND s.n > 0"
)


def params(program_ids: list[int], start: datetime, until: datetime) -> list[str]:
    """``SQL``'s parameters in their text form: the quarter's start (x's origin and the first
    instant), ``until`` (excluded) and the programs' ids."""
    return [
        start.isoformat(),
        start.isoformat(),
        until.isoformat(),
        "{" + ",".join(str(int(pk)) for pk in program_ids) + "}",
    ]
