"""The last 8 closed periods of calendar-period baselines, for the dashboard, the baseline
page and the admin: one statement for every baseline on a page (none when all are rolling).

Each cell is ``{"label", "status", "status_label", "value", "title"}``; a closed
period without a kept result yet says "not judged yet" (the hourly task or
``manage.py apm_close_periods`` computes it).
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.html import format_html, format_html_join

from apm import period_results
from apm.models import Baseline, PeriodResult

PENDING = "pending"
COLOURS = {
    PeriodResult.Status.KEPT: "#1a7f37",
    PeriodResult.Status.MISSED: "#cf222e",
    PeriodResult.Status.INSUFFICIENT_DATA: "#6e7781",
    PeriodResult.Status.MAINTENANCE: "#0969da",
    PENDING: "#afb8c1",
}


def _cell(period, result) -> dict:
    if result is None:
        return {"label": period.label, "status": PENDING, "status_label": "not judged yet",
                "value": None, "title": f"{period.label}: not judged yet"}  # fmt: skip
    value = "" if result.value is None else f" {result.value:g}"
    return {
        "label": period.label,
        "status": result.status,
        "status_label": result.get_status_display(),
        "value": result.value,
        "title": f"{period.label}: {result.get_status_display()}{value}",
    }


def attach(baselines: list[Baseline], now: datetime | None = None) -> None:
    """Set ``b.periods`` (a list of cells, oldest first; empty when rolling) on each."""
    now = now or timezone.now()
    calendar = [b for b in baselines if b.period != Baseline.Period.ROLLING]
    for b in baselines:
        b.periods = []
    if not calendar:
        return
    closed = {b.pk: period_results.period_of(b, now).previous_n(period_results.SHOWN)
              for b in calendar}  # fmt: skip
    kept = {}
    rows = PeriodResult.objects.filter(
        baseline__in=[b.pk for b in calendar],
        starts_at__gte=min(periods[0].start for periods in closed.values()),
    )
    for r in rows:
        kept[(r.baseline_id, r.kind, r.period_tz, r.starts_at)] = r
    for b in calendar:
        b.periods = [
            _cell(p, kept.get((b.pk, b.period, b.period_tz, p.start))) for p in closed[b.pk]
        ]


def period_strip(baseline: Baseline, now: datetime | None = None):
    """The cells as a row of coloured labels (the admin's read-only field)."""
    attach([baseline], now)
    if not baseline.periods:
        return "rolling: no calendar periods"
    return format_html_join(
        " ",
        '<span title="{}" style="display:inline-block;margin:1px;padding:2px 6px;'
        'border-radius:3px;color:#fff;background:{}">{} {}</span>',
        (
            (c["title"], COLOURS[c["status"]], c["label"], c["status_label"])
            for c in baseline.periods
        ),
    ) or format_html("—")
