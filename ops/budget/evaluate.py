"""Error budgets and burn-rate incidents of the SLOs that declare an ``objective``.

One metrics-store call per distinct ``budget_window`` in use (all SLOs sharing a
window are counted together; one statement on the database store), whatever the
number of SLOs: the samples of every budgeted SLO counted all and bad (above the
threshold) for the budget window and each alert window (``count_above``).

``evaluate(at)`` runs in the SLO tick: for each service whose playbook has a
``fast_burn`` or ``slow_burn`` step it opens that condition's incident when the
rule holds (the steps are planned once; an open incident is not opened again)
and resolves it when the rule stops holding. While ``fast_burn`` holds, no
``slow_burn`` incident opens: the page already says it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.utils import timezone

from ops import maintenance
from ops.budget import windows
from ops.metrics.store import CountQuery, get_store
from ops.models import SLO, Incident
from ops.playbook import grammar
from ops.playbook.incidents import definition_of, open_for, resolve_incident

EVALUATOR = "burn-rate-evaluator"
BURN_CONDITIONS = (grammar.FastBurn, grammar.SlowBurn)


def _counts_for(slos: list[SLO], spec: str, at: datetime) -> dict[int, dict]:
    """{slo id: {"budget": (all, bad), seconds: (all, bad) for each alert window}}."""
    start, _length = windows.bounds(spec, at)
    factor = windows.scale(spec, at)
    starts = (start, *(at - timedelta(seconds=w * factor) for w in windows.ALERT_WINDOWS))
    queries = [
        CountQuery(slo.service_id, slo.target, slo.threshold, starts, at, key=slo.pk)
        for slo in slos
    ]
    found = get_store().count_above(queries)
    result = {}
    for slo in slos:
        budget_counts, *alert_counts = found[slo.pk]
        result[slo.pk] = {
            "budget": budget_counts,
            **dict(zip(windows.ALERT_WINDOWS, alert_counts, strict=True)),
        }
    return result


def counts(slos, at: datetime) -> dict[int, dict]:
    """Counts for every budgeted SLO in ``slos``; one statement per distinct budget window."""
    by_window: dict[str, list[SLO]] = defaultdict(list)
    for slo in slos:
        if slo.objective is not None:
            by_window[slo.budget_window or windows.DEFAULT_WINDOW].append(slo)
    result: dict[int, dict] = {}
    for spec, group in by_window.items():
        result.update(_counts_for(group, spec, at))
    return result


def _label(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def report(slo: SLO, slo_counts: dict, at: datetime) -> dict:
    """The ``error_budget`` block of ``services/{id}/status/``."""
    spec = slo.budget_window or windows.DEFAULT_WINDOW
    start, length = windows.bounds(spec, at)
    factor = windows.scale(spec, at)
    total, bad = slo_counts["budget"]
    left, minutes = windows.remaining(total, bad, slo.objective, length)
    return {
        "objective": slo.objective,
        "window": spec,
        "window_start": start,
        "events": total,
        "bad_events": bad,
        "remaining_pct": round(left * 100, 3),
        "remaining_minutes": round(minutes, 2),
        "burn_rates": [
            {
                "window": _label(seconds * factor),
                "window_seconds": seconds * factor,
                "burn_rate": round(windows.burn_rate(*slo_counts[seconds], slo.objective), 4),
            }
            for seconds in windows.ALERT_WINDOWS
        ],
        "firing": sorted(windows.firing(_burns(slo, slo_counts))),
    }


def _burns(slo: SLO, slo_counts: dict) -> dict[int, float]:
    return {s: windows.burn_rate(*slo_counts[s], slo.objective) for s in windows.ALERT_WINDOWS}


def evaluate(at: datetime | None = None) -> int:
    """Open or resolve the ``fast_burn`` / ``slow_burn`` incidents; returns how many changed."""
    at = at or timezone.now()
    slos = list(
        SLO.objects.filter(objective__isnull=False, service__document__has_key="playbook")
        .select_related("service")
        .order_by("pk")
    )
    all_counts = counts(slos, at)
    # Burn-rate alerts skip a service in maintenance: nothing opens or resolves for it
    # until the window ends (docs/VERDICTS.md).
    quiet = maintenance.services_in_maintenance({s.service_id for s in slos}, at)
    changed = 0
    for slo in slos:
        if slo.service_id in quiet:
            continue
        steps = [
            s
            for s in definition_of(slo.service).playbook
            if isinstance(s.condition, BURN_CONDITIONS)
        ]
        if not steps:
            continue
        burns = _burns(slo, all_counts[slo.pk])
        held = windows.firing(burns)
        if "fast_burn" in held:
            # A fast burn pages; the slow rule holds too, and its ticket would only repeat
            # the page (what an Alertmanager inhibit rule does for the workbook's alerts).
            held.discard("slow_burn")
        for condition in BURN_CONDITIONS:
            group = [s for s in steps if isinstance(s.condition, condition)]
            if group:
                changed += _apply(
                    slo, condition.keyword, group, condition.keyword in held, at, burns
                )
    return changed


def _apply(slo: SLO, name: str, steps, held: bool, at: datetime, burns) -> int:
    if held:
        fastest = max(burns.values())
        opened = open_for(
            slo.service, name, steps, at, value=round(fastest, 4), audit_extra={"slo": slo.pk}
        )
        return int(opened is not None)
    resolved = 0
    for incident in Incident.objects.filter(
        service=slo.service, condition=name, state=Incident.State.OPEN
    ):
        resolved += resolve_incident(incident, at=at, by=EVALUATOR)
    return resolved


def status_of(slo: SLO, at: datetime | None = None) -> dict | None:
    """The SLO's ``error_budget`` now (None without an objective): one statement."""
    if slo.objective is None:
        return None
    at = at or timezone.now()
    return report(slo, counts([slo], at)[slo.pk], at)
