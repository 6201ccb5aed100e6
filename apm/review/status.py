"""The quarterly review of each baseline: on track, at risk, off track, or not enough data.

The rule (docs/REVIEW.md):

- The quarter's evaluations are the deviations measured in it (up to ``as_of``) that
  have a value; ``no_data`` and ``error`` runs are counted as missing, not fitted;
  runs inside a maintenance window and ``insufficient_data`` runs are left out
  (``Deviation.objects.counted``, docs/VERDICTS.md).
- Fewer than ``MIN_EVALUATIONS`` → ``insufficient_data``.
- *So far*: the mean of the quarter's values. *Projection*: a least-squares line
  through (time, value), read at the quarter's end. Each is *kept* when its deviation
  from the target is within the baseline's ``threshold_pct`` (the watchdog's own rule).
- Both kept → ``on_track``; neither → ``off_track``; one of the two → ``at_risk``.
- ``at_risk`` and ``off_track`` need an explanation (why, plan, due date) for the quarter.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count

from apm import quality
from apm.models import Baseline, Deviation, Escalation, Explanation
from apm.review.quarters import Quarter

MIN_EVALUATIONS = 3
DAY = 86400.0
MEASURED = (Deviation.Status.OK, Deviation.Status.BREACH)


class Status:
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    OFF_TRACK = "off_track"
    INSUFFICIENT_DATA = "insufficient_data"
    NEEDS_EXPLANATION = ("at_risk", "off_track")


@dataclass
class BaselineReview:
    baseline: Baseline
    status: str
    evaluations: int
    missing: int
    value: float | None = None
    projection: float | None = None
    trend_per_day: float | None = None
    direction: str = ""  # improving / worsening / steady
    open_escalations: int = 0
    explanation: Explanation | None = None
    # the data quality of the quarter's newest evaluation (apm.quality.FIELDS), and in words
    quality: dict | None = None
    quality_words: str = ""

    @property
    def explanation_due(self) -> bool:
        return self.status in Status.NEEDS_EXPLANATION and self.explanation is None


@dataclass(frozen=True)
class Sums:
    """What the least-squares line needs of the measured ``(x, y)`` points: their count, the
    means of x and y, and the centred sums Sxx = Σ(x - x̄)² and Sxy = Σ(x - x̄)(y - ȳ). The
    review page adds them up in Python (``sums``), the dashboard's strip has the database
    add them up per baseline (``apm.summary``: PostgreSQL's ``regr_*``, or on SQLite the raw
    sums, ``from_raw``); both are judged by ``judge_sums``, the one rule."""

    n: int = 0
    mean_x: float = 0.0
    mean_y: float = 0.0
    sxx: float = 0.0
    sxy: float = 0.0

    @classmethod
    def from_raw(cls, n: int, sx: float, sy: float, sxy: float, sxx: float) -> Sums:
        """From n, Σx, Σy, Σxy, Σx²: Sxx = Σx² - (Σx)²/n, Sxy = Σxy - ΣxΣy/n. The x are days
        from the quarter's start (0 to 92), so little cancels; a spread in x below 1e-12 of
        Σx² is rounding (one instant) and is no spread."""
        if not n:
            return cls()
        mean_x, mean_y = sx / n, sy / n
        spread = sxx - sx * mean_x
        if spread <= 1e-12 * sxx:
            spread = 0.0
        return cls(n, mean_x, mean_y, spread, sxy - sx * mean_y)


def sums(points: list[tuple[float, float]]) -> Sums:
    n = len(points)
    if not n:
        return Sums()
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in points)
    return Sums(n, mean_x, mean_y, sxx, sxy)


def fit_sums(s: Sums) -> tuple[float, float]:
    """(intercept, slope) of the least-squares line: slope = Sxy / Sxx; no spread in x (one
    instant) is a flat line through the mean."""
    if s.sxx <= 0:
        return s.mean_y, 0.0
    slope = s.sxy / s.sxx
    return s.mean_y - slope * s.mean_x, slope


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """(intercept, slope) of the least-squares line through ``(x, y)`` points."""
    return fit_sums(sums(points))


def kept(baseline: Baseline, value: float) -> bool:
    return baseline.deviation_pct(value) <= baseline.threshold_pct


def _direction(baseline: Baseline, slope: float, days: float) -> str:
    change = slope * days
    if abs(change) < 0.01 * abs(baseline.target_value):
        return "steady"
    better = change < 0 if baseline.compare_op == Baseline.CompareOp.LE else change > 0
    return "improving" if better else "worsening"


def judge(baseline: Baseline, rows: list[tuple[datetime, float | None]], quarter: Quarter):
    """The review of one baseline from its quarter's ``(evaluated_at, actual)`` rows."""
    points = [((at - quarter.start).total_seconds() / DAY, v) for at, v in rows if v is not None]
    return judge_sums(baseline, sums(points), len(rows) - len(points), length_days(quarter))


def length_days(quarter: Quarter) -> float:
    return (quarter.end - quarter.start).total_seconds() / DAY


def judge_sums(baseline: Baseline, s: Sums, missing: int, days: float) -> BaselineReview:
    """``judge`` from the sums of the measured ``(days since the quarter's start, value)``
    points, the count of runs without a value and the quarter's ``length_days`` (where the
    line is read: computed once by a caller judging many baselines)."""
    if s.n < MIN_EVALUATIONS:
        return BaselineReview(baseline, Status.INSUFFICIENT_DATA, s.n, missing)
    intercept, slope = fit_sums(s)
    value = s.mean_y
    projection = intercept + slope * days
    so_far, later = kept(baseline, value), kept(baseline, projection)
    status = Status.ON_TRACK if so_far and later else Status.OFF_TRACK
    if so_far != later:
        status = Status.AT_RISK
    return BaselineReview(
        baseline,
        status,
        s.n,
        missing,
        value=round(value, 6),
        projection=round(projection, 6),
        trend_per_day=round(slope, 6),
        direction=_direction(baseline, slope, days),
    )


def review(baselines, quarter: Quarter, as_of: datetime, *, details=True) -> list[BaselineReview]:
    """Every baseline's review for ``quarter`` as of ``as_of``: four statements in all (two
    without ``details``: open escalations and explanations are then left at 0 / None)."""
    baselines = list(baselines)
    ids = [b.pk for b in baselines]
    until = min(as_of, quarter.end)
    rows: dict[int, list] = defaultdict(list)
    newest: dict[int, dict] = {}
    measured = Deviation.objects.counted().filter(
        baseline_id__in=ids, evaluated_at__gte=quarter.start, evaluated_at__lt=until
    )
    for baseline_id, at, actual, status, *figures in measured.order_by().values_list(
        "baseline_id", "evaluated_at", "actual", "status", *quality.FIELDS
    ):
        rows[baseline_id].append((at, actual if status in MEASURED else None))
        if baseline_id not in newest or at >= newest[baseline_id]["at"]:
            newest[baseline_id] = {"at": at, **dict(zip(quality.FIELDS, figures, strict=True))}
    if not details:
        return [judge(b, sorted(rows[b.pk], key=lambda r: r[0]), quarter) for b in baselines]
    escalations = dict(
        Escalation.objects.filter(baseline_id__in=ids, status__in=Escalation.OPEN_STATUSES)
        .values_list("baseline_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    explanations = {
        e.baseline_id: e
        for e in Explanation.objects.filter(baseline_id__in=ids, period=str(quarter))
    }
    result = []
    for baseline in baselines:
        one = judge(baseline, sorted(rows[baseline.pk], key=lambda r: r[0]), quarter)
        one.open_escalations = escalations.get(baseline.pk, 0)
        one.explanation = explanations.get(baseline.pk)
        if baseline.pk in newest:
            figures = newest[baseline.pk]
            one.quality = {name: figures[name] for name in quality.FIELDS}
            one.quality_words = quality.describe(one.quality, as_of)
        result.append(one)
    return result
