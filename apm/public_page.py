"""The public scorecard: public programs only, reduced to what is public.

Program code, name and authority; baseline name, target, operator, latest status,
latest actual, the 90-day trend and the last eight quarters (``apm.scorecard``). Never
the owner group, the probe or the evidence (``apm.pages``' docstring says why a monitor
outage reads "not measured").
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone

from apm import scorecard as quarter_bars
from apm.models import Baseline, Deviation, Explanation, Program
from apm.pages import _programs_page


def _explanations(program_ids: list[int]) -> tuple[dict, set]:
    """({baseline id: its newest explanation's public fields}, {(baseline id, period)}):
    one statement."""
    found, periods = {}, set()
    rows = (
        Explanation.objects.filter(baseline__program_id__in=program_ids)
        .order_by("baseline_id", "-period")
        .values("baseline_id", "period", "why", "plan", "due_date")
    )
    for row in rows:
        periods.add((row["baseline_id"], row["period"]))
        found.setdefault(row.pop("baseline_id"), row)
    return found, periods


def _public_label(baseline: Baseline) -> str:
    if baseline.latest_in_maintenance:
        return "Maintenance"
    if not baseline.latest_status:
        return "not measured yet"
    return Deviation.Status(baseline.latest_status).label


def _spans_of(trend: dict) -> list[tuple[datetime, datetime]]:
    return [
        (datetime.fromtimestamp(a, UTC), datetime.fromtimestamp(b, UTC)) for a, b in trend["bands"]
    ]


def _public(b: Baseline, bars, explanation) -> dict:
    promise = quarter_bars.public_promise(b, bars, explanation)
    promise.update(
        status="maintenance" if b.latest_in_maintenance else b.latest_status,
        status_label=_public_label(b),
        maintenance=_spans_of(b.trend),
    )
    return promise


def scorecard(params, at: datetime | None = None) -> dict:
    """The public programs, reduced to what is public (see the module docstring), with
    each promise's last eight quarters (``apm.scorecard``)."""
    at = at or timezone.now()
    result = _programs_page(Program.objects.filter(public=True), params, at)
    explained, periods = _explanations([p.pk for p in result.programs])
    shown = [b for program in result.programs for b in program.card_baselines if b.active]
    history = quarter_bars.bars(shown, at, periods)
    programs = []
    for program in result.programs:
        programs.append(
            {
                "code": program.code,
                "name": program.name,
                "authority": program.authority,
                "baselines": [
                    _public(b, history[b.pk], explained.get(b.pk))
                    for b in program.card_baselines
                    if b.active
                ],
            }
        )
    return {"page": result.page, "programs": programs, "at": at}
