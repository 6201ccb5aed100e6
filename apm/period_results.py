"""Closed calendar periods' results (``PeriodResult``): computed once each period has ended.

A period's result is the probe over the whole period (the window from its
first to its last instant, measured at its end) judged against the baseline's
target and threshold then: ``kept`` or ``missed`` (no data counts as missed:
seed pitfall 1); ``insufficient_data`` when the probe counted fewer than
``min_samples`` samples; ``maintenance`` when maintenance windows cover the
whole period. The period's counted runs (``Deviation.objects.counted``: live,
outside maintenance, judged) are counted beside it. Computing is
idempotent (one row per baseline, kind, zone and start: a second call returns
the first row) and a probe that fails stores nothing, so the next call (the
beat task, or ``manage.py apm_close_periods``) tries again. docs/VERDICTS.md.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from apm import maintenance, periods, services
from apm.models import Baseline, Deviation, PeriodResult
from apm.probes import Window

log = logging.getLogger(__name__)
SHOWN = 8  # the baseline page and the dashboard show the last 8 closed periods
# A closed period is measured at its last millisecond over its whole span: a range
# ending there takes the sample at its first instant and none at the next period's.
LAST_INSTANT = timedelta(milliseconds=1)
RED = [Deviation.Status.BREACH, Deviation.Status.NO_DATA, Deviation.Status.ERROR]


class PeriodNotClosed(ValueError):
    pass


def period_of(baseline: Baseline, at: datetime) -> periods.Period:
    return periods.Period.containing(baseline.period, at, baseline.period_tz)


def _all_maintenance(baseline: Baseline, period: periods.Period) -> bool:
    covered, start = timedelta(0), period.start
    for span_start, span_end in sorted(maintenance.spans_for_baseline(baseline, start, period.end)):
        span_start, span_end = max(span_start, start), min(span_end, period.end)
        if span_end > span_start:
            covered += span_end - span_start
            start = span_end
    return covered >= period.end - period.start


def judge(
    baseline: Baseline, value: float | None, count: int | None = None
) -> tuple[str, float | None, str]:
    """``(status, deviation_pct, reason)`` of a whole period's value (``count``: its samples,
    None when the probe does not count)."""
    if value is None or count == 0:
        return (
            PeriodResult.Status.MISSED,
            services.FULL_DEVIATION,
            "no data for the period (counts as full deviation)",
        )
    pct = baseline.deviation_pct(value)
    if count is not None and count < baseline.min_samples:
        return (
            PeriodResult.Status.INSUFFICIENT_DATA,
            pct,
            f"{count} sample(s), the baseline needs {baseline.min_samples}",
        )
    kept = pct <= baseline.threshold_pct
    return (PeriodResult.Status.KEPT if kept else PeriodResult.Status.MISSED), pct, ""


def compute(
    baseline: Baseline, period: periods.Period, now: datetime | None = None
) -> PeriodResult | None:
    """The period's kept result, computing it if needed; None when the probe failed."""
    now = now or timezone.now()
    if period.end > now:
        raise PeriodNotClosed(f"{period.label} ends at {period.end.isoformat()}: not closed yet")
    key = {
        "baseline": baseline,
        "kind": period.kind,
        "period_tz": period.tz,
        "starts_at": period.start,
    }
    existing = PeriodResult.objects.filter(**key).first()
    if existing is not None:
        return existing
    window = Window(period.start, period.end)
    reading, error = services.measure(baseline, period.end - LAST_INSTANT, window)
    if error:
        log.warning("baseline %s %s: period not judged: %s", baseline.pk, period.label, error)
        return None
    status, pct, reason = judge(baseline, reading.value, reading.sample_count)
    if _all_maintenance(baseline, period):
        status, reason = PeriodResult.Status.MAINTENANCE, "maintenance windows cover the period"
    runs = (
        Deviation.objects.live()
        .counted()
        .filter(baseline=baseline, evaluated_at__gte=period.start, evaluated_at__lt=period.end)
    )
    result = PeriodResult(
        **key,
        label=period.label,
        ends_at=period.end,
        status=status,
        value=reading.value,
        deviation_pct=pct,
        target_value=baseline.target_value,
        threshold_pct=baseline.threshold_pct,
        evaluations=runs.count(),
        breaches=runs.filter(status__in=RED).count(),
        reason=reason or reading.reason[:500],
    )
    try:
        with transaction.atomic():
            result.save()
    except IntegrityError:  # a concurrent call kept it first
        return PeriodResult.objects.get(**key)
    return result


def close_due(baseline: Baseline, now: datetime | None = None, count: int = SHOWN) -> list:
    """Compute the last ``count`` closed periods that have no result yet; the results."""
    if baseline.period == Baseline.Period.ROLLING:
        return []
    now = now or timezone.now()
    closed = period_of(baseline, now).previous_n(count)
    done = set(
        PeriodResult.objects.filter(
            baseline=baseline,
            kind=baseline.period,
            period_tz=baseline.period_tz,
            starts_at__in=[p.start for p in closed],
        ).values_list("starts_at", flat=True)
    )
    return [r for p in closed if p.start not in done and (r := compute(baseline, p, now))]


def close_all(now: datetime | None = None) -> dict:
    """The beat task: every active calendar-period baseline's newly closed periods."""
    baselines = Baseline.objects.filter(active=True).exclude(period=Baseline.Period.ROLLING)
    computed = {}
    for baseline in baselines.select_related("program").order_by("pk"):
        results = close_due(baseline, now)
        if results:
            computed[baseline.pk] = [r.label for r in results]
    return computed


def last_periods(baseline: Baseline, now: datetime | None = None, count: int = SHOWN) -> list:
    """The last ``count`` closed periods, oldest first: ``(period, result or None)``."""
    if baseline.period == Baseline.Period.ROLLING:
        return []
    closed = period_of(baseline, now or timezone.now()).previous_n(count)
    kept = {
        r.starts_at: r
        for r in PeriodResult.objects.filter(
            baseline=baseline, kind=baseline.period, period_tz=baseline.period_tz
        )
    }
    return [(p, kept.get(p.start)) for p in closed]
