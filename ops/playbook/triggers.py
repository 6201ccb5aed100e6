"""Incidents that do not come from the SLO: metric conditions and named events (seed section 8).

Metric conditions (``error_rate > 2% for 5 min``, ``cost_hourly > $500``) are
decided by ``evaluate_conditions``, run by the same beat task right after the
SLO pass: a condition holds when every reading of the metric in the last
``for`` window is past the value (for ``>``/``>=`` the window's minimum, for
``<``/``<=`` its maximum; without ``for``, the latest reading in the SLO window).
``%`` and ``$`` only say how the value is written: ``2%`` compares with 2.
Holding opens an incident named by the condition's text; not holding (or no
reading) resolves it, which runs the ``recovered`` steps.

Events (``unauthorized_login``) are raised by ``raise_event``, which the API's
``POST /api/v1/services/{id}/events/`` calls; the incident stays open until
resolved by hand (API or admin). Each opens at most one open incident per name.
"""

from __future__ import annotations

import operator
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from ops.metrics import aggregate
from ops.models import Incident, Service
from ops.playbook import grammar
from ops.playbook.incidents import definition_of, open_for, resolve_incident

_COMPARE = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
EVALUATOR = "condition-evaluator"


class EventError(ValueError):
    pass


def condition_name(condition: grammar.MetricThreshold) -> str:
    value = f"${condition.value:g}" if condition.unit == "$" else f"{condition.value:g}"
    text = f"{condition.metric} {condition.op} {value}{'%' if condition.unit == '%' else ''}"
    return f"{text} for {condition.for_seconds}s" if condition.for_seconds else text


def holds(service_id: str, condition: grammar.MetricThreshold, window: int, at: datetime):
    """(holds, the value compared) for one metric condition at ``at``."""
    if condition.for_seconds:
        func = "min" if condition.op.startswith(">") else "max"
        value = aggregate(service_id, condition.metric, func, condition.for_seconds, at)
    else:
        value = aggregate(service_id, condition.metric, "last", window, at)
    if value is None:
        return False, None
    return _COMPARE[condition.op](value, condition.value), value


def evaluate_conditions(at: datetime | None = None) -> int:
    """Open or resolve the incidents of every metric condition; returns how many changed."""
    at = at or timezone.now()
    changed = 0
    services = Service.objects.filter(document__has_key="playbook").prefetch_related("slos")
    for service in services:
        steps = [
            s
            for s in definition_of(service).playbook
            if isinstance(s.condition, grammar.MetricThreshold)
        ]
        if not steps:
            continue
        # The prefetched SLOs, in the model's ordering (what ``.first()`` returns);
        # ``.first()`` would rebuild a queryset per service (most of a 1,000-service tick).
        slo = next(iter(service.slos.all()), None)
        window = slo.window_seconds if slo else 300
        by_condition: dict[str, list] = {}
        for step in steps:
            by_condition.setdefault(condition_name(step.condition), []).append(step)
        for name, group in by_condition.items():
            held, value = holds(service.id, group[0].condition, window, at)
            with transaction.atomic():
                if held:
                    changed += open_for(service, name, group, at, value=value) is not None
                    continue
                for incident in Incident.objects.filter(
                    service=service, condition=name, state=Incident.State.OPEN
                ):
                    changed += resolve_incident(incident, at=at, by=EVALUATOR)
    return changed


def event_condition(name: str) -> str:
    """The ``Incident.condition`` of a named event's incident."""
    return f"event:{name}"


def raise_event(service: Service, name: str, detail: dict | None = None) -> Incident:
    """Open (or return the open) incident of a named event reported for ``service``."""
    steps = [
        s
        for s in definition_of(service).playbook
        if isinstance(s.condition, grammar.Event) and s.condition.name == name
    ]
    if not steps:
        raise EventError(f"the playbook of {service.id} has no step for event {name!r}")
    condition = event_condition(name)
    with transaction.atomic():
        incident = open_for(service, condition, steps, timezone.now(), detail=detail or {})
        if incident is None:
            incident = Incident.objects.get(
                service=service, condition=condition, state=Incident.State.OPEN
            )
    return incident
