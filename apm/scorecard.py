"""The public scorecard's quarter bars: each promise kept or missed, quarter by quarter.

For the last ``QUARTERS`` UTC calendar quarters, a past quarter is judged by the
review's own rule (``apm.review.status.kept``): the mean of the quarter's measured
values (``ok`` and ``breach`` runs) within the baseline's ``threshold_pct`` of the
target is **kept**, otherwise **missed**; a quarter with no measured value is **no
data**. The current quarter ("so far") shows its quarterly review when there are
enough evaluations: ``on_track`` kept, ``off_track`` missed, ``at_risk`` **at risk**
(kept so far but trending to a miss at the quarter's end, or the other way round).

Maintenance: runs measured inside a maintenance window (``Deviation.in_maintenance``,
``apm.maintenance``) are left out of the mean, and a quarter whose every measured
run was in maintenance is shown as **maintenance**, not as kept or missed.

One statement for every baseline of the page (grouped by baseline and quarter).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Avg, Count, Q
from django.db.models.functions import TruncQuarter

from apm.models import Baseline, Deviation
from apm.review.quarters import Quarter
from apm.review.status import MEASURED, kept, review

QUARTERS = 8
WORDS = {
    "kept": "kept",
    "missed": "missed",
    "no_data": "no data",
    "maintenance": "under maintenance",
    "at_risk": "at risk",
}
FROM_REVIEW = {"on_track": "kept", "off_track": "missed", "at_risk": "at_risk"}


@dataclass
class Bar:
    quarter: str
    state: str  # kept / missed / no_data / maintenance
    value: float | None = None
    evaluations: int = 0
    in_maintenance: int = 0
    current: bool = False
    explained: bool = False
    projection: float | None = None

    @property
    def word(self) -> str:
        return WORDS[self.state]

    def text(self, baseline: Baseline) -> str:
        """The bar's text alternative: the quarter, its verdict and why, in one sentence."""
        when = f"{self.quarter} (so far)" if self.current else self.quarter
        op = "at most" if baseline.compare_op == Baseline.CompareOp.LE else "at least"
        if self.state == "no_data":
            return f"{when}: no data — the promise was not measured."
        if self.state == "maintenance":
            return f"{when}: under maintenance — not judged."
        text = (
            f"{when}: {self.word} — average {self.value:g} against {op} "
            f"{baseline.target_value:g} ({self.evaluations} measurement"
            f"{'' if self.evaluations == 1 else 's'}"
        )
        if self.in_maintenance:
            text += f"; {self.in_maintenance} in maintenance left out"
        text += ")"
        if self.projection is not None and self.state == "at_risk":
            shown = f"{self.projection:,.2f}".rstrip("0").rstrip(".")
            text += f", heading for {shown} at the quarter's end"
        if self.state in ("missed", "at_risk"):
            text += ", explained below." if self.explained else ", no explanation given yet."
        else:
            text += "."
        return text


def last_quarters(at: datetime, count: int = QUARTERS) -> list[Quarter]:
    """The ``count`` quarters ending with the one containing ``at``, oldest first."""
    quarters = [Quarter.containing(at)]
    while len(quarters) < count:
        quarters.append(quarters[-1].previous())
    return quarters[::-1]


def bars(baselines: list[Baseline], at: datetime, explained: set[tuple[int, str]]) -> dict:
    """{baseline id: [Bar, ...] oldest first}; ``explained`` holds (baseline id, period)."""
    if not baselines:
        return {}
    quarters = last_quarters(at)
    rows = Deviation.objects.filter(
        baseline_id__in=[b.pk for b in baselines],
        evaluated_at__gte=quarters[0].start,
        evaluated_at__lt=at,
        status__in=MEASURED,
    )
    judged = Q(in_maintenance=False)
    counted = {
        "evaluations": Count("id", filter=judged),
        "mean": Avg("actual", filter=judged),
        "maintenance": Count("id", filter=~judged),
    }
    grouped = (
        rows.annotate(quarter=TruncQuarter("evaluated_at"))
        .values("baseline_id", "quarter")
        .annotate(**counted)
        .order_by()
    )
    found: dict[int, dict[str, dict]] = defaultdict(dict)
    for row in grouped:
        found[row["baseline_id"]][str(Quarter.containing(row["quarter"]))] = row
    current = str(quarters[-1])
    reviewed = {r.baseline.pk: r for r in review(baselines, quarters[-1], at, details=False)}
    result = {}
    for baseline in baselines:
        line = []
        for quarter in map(str, quarters):
            row = found[baseline.pk].get(quarter)
            line.append(_bar(baseline, quarter, row, quarter == current, explained))
        _judge_current(line[-1], reviewed[baseline.pk])
        result[baseline.pk] = line
    return result


def _judge_current(bar: Bar, reviewed) -> None:
    """The current quarter's bar follows its quarterly review, once there is one."""
    if bar.state in ("kept", "missed") and reviewed.status in FROM_REVIEW:
        bar.state = FROM_REVIEW[reviewed.status]
        bar.projection = round(reviewed.projection, 2)


def _bar(baseline, quarter: str, row: dict | None, current: bool, explained) -> Bar:
    if row is None:
        return Bar(quarter, "no_data", current=current)
    maintenance = row.get("maintenance", 0)
    if not row["evaluations"]:
        state = "maintenance" if maintenance else "no_data"
        return Bar(quarter, state, in_maintenance=maintenance, current=current)
    value = round(row["mean"], 4)
    return Bar(
        quarter,
        "kept" if kept(baseline, value) else "missed",
        value=value,
        evaluations=row["evaluations"],
        in_maintenance=maintenance,
        current=current,
        explained=(baseline.pk, quarter) in explained,
    )


def public_promise(b: Baseline, history: list[Bar], explanation: dict | None) -> dict:
    """What citizens see of one promise: never the owner group, the probe or the evidence,
    nor who signed its data off (only whether program staff did, and when)."""
    source = b.source
    return {
        "id": b.pk,
        "name": b.name,
        "target": b.target_value,
        "operator": b.get_compare_op_display().split()[0],
        "status": b.latest_status,
        "status_label": Deviation.Status(b.latest_status).label
        if b.latest_status
        else "not measured yet",
        "monitor_fault": b.latest_status == Deviation.Status.ERROR,
        "source_connected": b.probe_verified,
        "evaluated_at": b.latest_evaluated_at,
        "value": b.newest_value,
        "value_at": b.newest_data_at,
        "value_kept": None if b.newest_value is None else kept(b, b.newest_value),
        "stale_data": source.stale_data,
        "signed_off": source.state == "current",
        "signed_at": b.validated_at if source.state == "current" else None,
        "trend": b.trend,
        "chart_id": b.chart_id,
        "explanation": explanation,
        "bars": [{"bar": bar, "text": bar.text(b)} for bar in history],
    }
