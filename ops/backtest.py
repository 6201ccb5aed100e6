"""Service backtest (what-if): replay a service's SLO over past times with candidate settings.

Nothing is written. The samples are read once (every sample of the SLO's
metric from the first window's start to ``until``); each time's value is the
``percentile`` of its window ``(t - window_seconds, t]`` computed as the
evaluator computes it (``ops.metrics.percentile``, PostgreSQL's
``percentile_cont``), its state by the evaluator's own ``ops.slo.decide``. The
incidents follow the playbook's rules (``ops.playbook.incidents``): a move to
``breached`` opens one unless one is open, ``healthy`` resolves it and starts
the cooldown; the actions listed are the steps ``open_incident`` would plan
(the opening triggers and every ``always`` step; corrective ones skipped in
cooldown; a ``still_breach_after`` step only when the incident is still open
when it falls due). docs/VERDICTS.md, "Backtest".
"""

from __future__ import annotations

import bisect
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone

from ops import slo as evaluator
from ops import whatif
from ops.metrics import percentile
from ops.metrics.store import compaction
from ops.models import SLO, Sample, Service
from ops.playbook import grammar
from ops.playbook.incidents import CORRECTIVE, OPENING_TRIGGERS, definition_of

MAX_SAMPLES = 500_000  # read per backtest
MAX_WINDOW_SECONDS = 400 * 86400


def candidate(service: Service, data: dict) -> SLO:
    """An unsaved copy of the service's SLO (``slo``: its target name; default the first)."""
    slos = list(service.slos.order_by("pk"))
    if not slos:
        raise ValidationError({"slo": "this service has no SLO"})
    chosen = slos[0]
    if data.get("slo") is not None:
        chosen = next((s for s in slos if s.target == data["slo"]), None)
        if chosen is None:
            raise ValidationError({"slo": f"one of {', '.join(s.target for s in slos)}"})
    chosen = SLO(**{f.attname: getattr(chosen, f.attname) for f in SLO._meta.concrete_fields})
    errors = {}
    checks = (
        ("threshold", {}),
        ("window_seconds", {"minimum": 1, "integer": True}),
        ("percentile", {"minimum": 0}),
        ("min_samples", {"minimum": 1, "integer": True}),
    )
    for field, rule in checks:
        try:
            value = whatif.number(data.get(field), field, **rule)
        except ValidationError as exc:
            errors.update(exc.message_dict)
            continue
        if value is not None:
            setattr(chosen, field, value)
    if chosen.percentile > 100:
        errors["percentile"] = ["at most 100"]
    if chosen.window_seconds > MAX_WINDOW_SECONDS:
        errors["window_seconds"] = [f"at most {MAX_WINDOW_SECONDS} (400 days)"]
    if errors:
        raise ValidationError(errors)
    return chosen


def _samples(chosen: SLO, since: datetime, until: datetime) -> tuple[list, list]:
    low = since - timedelta(seconds=chosen.window_seconds)
    if compaction.reaches_blocks(low):  # days compacted into blocks (PostgreSQL)
        rows = compaction.metric_samples(
            chosen.service_id, chosen.target, low, until, MAX_SAMPLES + 1
        )
    else:
        rows = list(
            Sample.objects.filter(
                series__service_id=chosen.service_id,
                series__name=chosen.target,
                ts__gt=low,
                ts__lte=until,
            )
            .order_by("ts")
            .values_list("ts", "value")[: MAX_SAMPLES + 1]
        )
    if len(rows) > MAX_SAMPLES:
        raise ValidationError(
            {"since": f"more than {MAX_SAMPLES} samples in the range: a shorter range"}
        )
    return [ts for ts, _ in rows], [value for _, value in rows]


def _actions(definition, at: datetime, in_cooldown: bool) -> list[dict]:
    """What ``open_incident`` would plan at ``at``: (step, action, trigger, due, skipped)."""
    planned = []
    for step in definition.playbook:
        keyword = step.condition and step.condition.keyword
        if keyword not in OPENING_TRIGGERS and step.condition is not None:
            continue
        trigger = "always" if step.condition is None else step.condition.keyword
        due = at
        if isinstance(step.condition, grammar.StillBreachAfter):
            due = at + timedelta(seconds=step.condition.seconds * settings.HMS_PLAYBOOK_DELAY_SCALE)
        for action in step.actions:
            planned.append(
                {
                    "step": step.index,
                    "action": action.keyword,
                    "trigger": trigger,
                    "due_at": due,
                    "skipped": "cooldown" if in_cooldown and trigger in CORRECTIVE else "",
                }
            )
    return planned


def run(service: Service, data: dict, now: datetime | None = None) -> dict:
    """The backtest of the service's SLO with ``data``'s candidate settings; writes nothing."""
    now = now or timezone.now()
    chosen = candidate(service, data)
    span = whatif.time_range(data, lambda at: max(60, int(settings.HMS_SLO_EVAL_SECONDS)), now=now)
    times, values = _samples(chosen, span.since, span.until)
    definition = definition_of(service)
    cooldown = timedelta(seconds=definition.cooldown_seconds * settings.HMS_PLAYBOOK_DELAY_SCALE)
    state, incident, cooldown_until = SLO.State.NO_DATA, None, None
    incidents, actions, points = [], [], []
    breaches = 0
    for at in span.times:
        low = bisect.bisect_right(times, at - timedelta(seconds=chosen.window_seconds))
        high = bisect.bisect_right(times, at)
        window = sorted(values[low:high])
        value = percentile(window, chosen.percentile)
        new_state = evaluator.decide(value, chosen.threshold, len(window), chosen.min_samples)
        change = ""
        if new_state == SLO.State.BREACHED:
            breaches += 1
        if new_state != state and new_state == SLO.State.BREACHED and incident is None:
            in_cooldown = bool(cooldown_until and at < cooldown_until)
            incident = {"opened_at": at, "resolved_at": None, "in_cooldown": in_cooldown}
            incident["actions"] = _actions(definition, at, in_cooldown)
            incidents.append(incident)
            change = "open"
        elif new_state != state and new_state == SLO.State.HEALTHY and incident is not None:
            incident["resolved_at"], cooldown_until, incident = at, at + cooldown, None
            change = "resolve"
        state = new_state
        points.append(
            {
                "at": at.isoformat(),
                "value": value,
                "samples": len(window),
                "state": new_state,
                "incident": change,
            }
        )
    for inc in incidents:
        for planned in inc.pop("actions"):
            resolved = inc["resolved_at"]
            if not planned["skipped"] and resolved is not None and planned["due_at"] >= resolved:
                planned["skipped"] = "incident resolved"
            actions.append({**planned, "due_at": planned["due_at"].isoformat()})
        inc["opened_at"] = inc["opened_at"].isoformat()
        inc["resolved_at"] = inc["resolved_at"] and inc["resolved_at"].isoformat()
    return {
        "service": service.pk,
        "slo": chosen.target,
        "since": span.since.isoformat(),
        "until": span.until.isoformat(),
        "step_seconds": span.step,
        "candidate": {
            "threshold": chosen.threshold,
            "window_seconds": chosen.window_seconds,
            "percentile": chosen.percentile,
            "min_samples": getattr(chosen, "min_samples", None),
        },
        "evaluations": len(points),
        "breaches": breaches,
        "incidents": incidents,
        "actions": actions,
        "points": points,
    }
