"""The executives' review page: every visible program's baselines for one quarter."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import Group
from django.utils import timezone

from apm import signoff
from apm.models import Baseline, Program
from apm.review.quarters import Quarter, QuarterError
from apm.review.status import review

ORDER = {"off_track": 0, "at_risk": 1, "insufficient_data": 2, "on_track": 3}
SORTS = {
    "status": lambda r: (ORDER[r.status], r.baseline.program.code, r.baseline.name),
    "program": lambda r: (r.baseline.program.code, r.baseline.name),
    "name": lambda r: (r.baseline.name, r.baseline.program.code),
    "escalations": lambda r: (-r.open_escalations, ORDER[r.status]),
}


def review_page(user, params, at=None) -> dict:
    """Context for ``apm/review.html``: five statements whatever the number of baselines."""
    at = at or timezone.now()
    try:
        quarter = Quarter.parse(params["quarter"]) if params.get("quarter") else None
        error = ""
    except QuarterError as exc:
        quarter, error = None, str(exc)
    quarter = quarter or Quarter.containing(at)
    programs = Program.objects.visible_to(user)
    baselines = (
        Baseline.objects.filter(program__in=programs, active=True)
        .with_data_age()
        .select_related("program__owner_group", "validated_by")
    )
    owner = params.get("owner", "")
    if owner:
        baselines = baselines.filter(program__owner_group__name=owner)
    if params.get("program"):
        baselines = baselines.filter(program__code=params["program"])
    sort = params.get("sort") if params.get("sort") in SORTS else "status"
    rows = sorted(review(baselines, quarter, at), key=SORTS[sort])
    signoff.attach([r.baseline for r in rows], at)
    counts = {status: 0 for status in ORDER}
    for row in rows:
        counts[row.status] += 1
    return {
        "quarter": quarter,
        "previous": quarter.previous(),
        "next": quarter.next(),
        "as_of": min(at, quarter.end),
        "last_day": quarter.end - timedelta(days=1),
        "closed": at >= quarter.end,
        "rows": rows,
        "counts": counts,
        "sort": sort,
        "sort_choices": [
            ("status", "status (worst first)"),
            ("program", "program"),
            ("name", "promise"),
            ("escalations", "open escalations"),
        ],
        "owner": owner,
        "program": params.get("program", ""),
        "owners": Group.objects.filter(apm_programs__in=programs).distinct().order_by("name"),
        "programs": programs.order_by("code"),
        "error": error,
        "explanations_due": sum(1 for r in rows if r.explanation_due),
        "sources_flagged": sum(1 for r in rows if not r.baseline.source.ok),
    }
