"""Incident lifecycle: SLO changes and conditions open incidents, plan their runs, resolve them.

Flow (docs/PLAYBOOK.md):

1. The evaluator calls ``on_slo_change`` inside its transaction. A change to
   ``breached`` opens an ``Incident`` (one open per service and SLO, a DB
   constraint) and plans one ``ActionRun`` per action of every ``slo_breach``,
   ``still_breach_after N`` and ``always`` step, each with a ``due_at``
   (``still_breach_after`` counts from the incident's start). A change to
   ``healthy`` resolves the open incident, skips its pending runs and plans the
   ``recovered`` steps. Metric conditions and events (``triggers``) use
   ``open_for`` and ``resolve_incident`` the same way.
2. After commit each run is sent to the ``run_playbook_action`` task (with a
   countdown for later ones, ``dispatch.send``); executing a run is
   ``ops.playbook.runner``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ops import audit, maintenance
from ops.models import SLO, ActionRun, Incident, Service
from ops.playbook import dispatch, grammar, repeats
from ops.playbook.executors import ACTOR, AUDIT_TOPIC
from ops.servicedef import ServiceDefinition, parse_definition

OPENING_TRIGGERS = (None, "slo_breach", "still_breach_after")
CORRECTIVE = ("slo_breach", "still_breach_after", "recovered")
# Inside a maintenance window only ``always`` steps run (the log); every other run is
# planned skipped with this reason and re-armed when the window ends (docs/VERDICTS.md).
MAINTENANCE = "maintenance"


def definition_of(service: Service) -> ServiceDefinition:
    """The service's parsed ``.ops.yaml`` (its playbook, cooldown and Kubernetes block).

    Stored, so its scrape targets were checked at registration; the scraper checks
    them again on connect, so no DNS lookup happens here."""
    return parse_definition(service.source or service.document, check_targets=False)


def _delay(seconds: float) -> timedelta:
    return timedelta(seconds=seconds * settings.HMS_PLAYBOOK_DELAY_SCALE)


def _trigger(step: grammar.Step) -> str:
    return "always" if step.condition is None else step.condition.keyword


def record(event: str, incident: Incident, *, actor=None, **extra) -> None:
    """An ``ops.incident`` audit entry for ``incident`` (the runner's outcomes too)."""
    audit.record(
        AUDIT_TOPIC,
        {"event": event, "incident": incident.pk, "service": incident.service_id, **extra},
        actor=actor or ACTOR,
    )


def _skip_reason(incident: Incident, trigger: str, quiet: bool) -> str:
    if quiet and trigger != "always":
        return MAINTENANCE
    return "cooldown" if incident.in_cooldown and trigger in CORRECTIVE else ""


def _plan(incident: Incident, steps, at: datetime) -> list[ActionRun]:
    runs = []
    quiet = maintenance.in_maintenance(incident.service_id, at)
    for step in steps:
        trigger = _trigger(step)
        due = at
        if isinstance(step.condition, grammar.StillBreachAfter):
            due = at + _delay(step.condition.seconds)
        skip = _skip_reason(incident, trigger, quiet)
        for position, action in enumerate(step.actions):
            runs.append(
                ActionRun(
                    incident=incident,
                    step=step.index,
                    position=position,
                    trigger=trigger,
                    action=action.keyword,
                    arguments=action.to_dict(),
                    due_at=due,
                    status=ActionRun.Status.SKIPPED if skip else ActionRun.Status.PENDING,
                    finished_at=at if skip else None,
                    detail={"skipped": skip} if skip else {},
                )
            )
    created = ActionRun.objects.bulk_create(runs, ignore_conflicts=True)
    pending = list(
        ActionRun.objects.filter(incident=incident, status=ActionRun.Status.PENDING).values_list(
            "pk", "due_at"
        )
    )
    transaction.on_commit(lambda: dispatch.send(pending), robust=True)  # ops.outbox: the rule
    return created


def maintenance_ended(service_id: str, slo_id: int, state: str, at: datetime) -> int:
    """The service's maintenance window ended at ``at``: the runs its open incidents skipped
    for maintenance are planned again (due from now, keeping each run's delay), as if the
    breach began now; an SLO still breached with no incident open opens one. The number of
    runs re-armed."""
    runs = list(
        ActionRun.objects.filter(
            incident__service_id=service_id,
            incident__state=Incident.State.OPEN,
            status=ActionRun.Status.SKIPPED,
            detail__skipped=MAINTENANCE,
        ).select_related("incident")
    )
    for run in runs:
        run.due_at = at + max(run.due_at - run.incident.opened_at, timedelta(0))
        detail = {k: v for k, v in run.detail.items() if k != "skipped"}
        run.status, run.finished_at = ActionRun.Status.PENDING, None
        run.detail = {**detail, "rearmed_after_maintenance": at.isoformat()}
    ActionRun.objects.bulk_update(runs, ["due_at", "status", "finished_at", "detail"])
    pending = [(run.pk, run.due_at) for run in runs]
    if pending:
        transaction.on_commit(lambda: dispatch.send(pending), robust=True)
    open_ = Incident.objects.filter(slo_id=slo_id, state=Incident.State.OPEN).exists()
    if state == SLO.State.BREACHED and not open_:
        open_incident(SLO.objects.select_related("service").get(pk=slo_id), at)
    return len(runs)


def on_slo_change(slo_id: int, from_state: str, to_state: str, at: datetime) -> None:
    """Hook for the evaluator, inside its transaction."""
    if to_state == SLO.State.BREACHED:
        open_incident(SLO.objects.select_related("service").get(pk=slo_id), at)
    elif to_state == SLO.State.HEALTHY:
        for incident in Incident.objects.filter(slo_id=slo_id, state=Incident.State.OPEN):
            resolve_incident(incident, at=at, by="slo-evaluator")


def open_incident(slo: SLO, at: datetime) -> Incident | None:
    """Open the SLO's incident and plan its steps; None when one is already open."""
    definition = definition_of(slo.service)
    steps = [
        s for s in definition.playbook if (s.condition and s.condition.keyword) in OPENING_TRIGGERS
    ]
    return open_for(
        slo.service,
        "slo_breach",
        steps,
        at,
        slo=slo,
        value=slo.value,
        audit_extra={"slo": slo.pk, "threshold": slo.threshold},
    )


@transaction.atomic
def open_for(
    service: Service,
    condition: str,
    steps,
    at: datetime,
    *,
    slo: SLO | None = None,
    value: float | None = None,
    detail: dict | None = None,
    audit_extra: dict | None = None,
) -> Incident | None:
    """Open an incident for ``condition`` and plan ``steps`` (plus every ``always`` step).

    None when an incident for the same service and condition is already open.
    """
    open_ = Incident.objects.filter(service=service, condition=condition, state=Incident.State.OPEN)
    if open_.exists():
        return None
    definition = definition_of(service)
    last = (
        Incident.objects.filter(service=service, condition=condition, state=Incident.State.RESOLVED)
        .order_by("-resolved_at")
        .first()
    )
    in_cooldown = bool(last and last.cooldown_until and at < last.cooldown_until)
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                service=service,
                slo=slo,
                condition=condition[:300],
                opened_at=at,
                value=value,
                detail=detail or {},
                in_cooldown=in_cooldown,
            )
    except IntegrityError:  # opened concurrently
        return None
    always = [s for s in definition.playbook if s.condition is None and s not in steps]
    record(
        "opened",
        incident,
        condition=condition,
        value=value,
        in_cooldown=in_cooldown,
        opened_at=at.isoformat(),
        **(audit_extra or {}),
        **({"detail": detail} if detail else {}),
    )
    _plan(incident, [*steps, *always], at)
    return incident


@transaction.atomic
def resolve_incident(incident: Incident, *, at: datetime | None = None, by: str = "") -> bool:
    """Resolve an open incident (recovery, the API or the admin); False when already resolved."""
    at = at or timezone.now()
    definition = definition_of(incident.service)
    cooldown_until = at + _delay(definition.cooldown_seconds)
    claimed = Incident.objects.filter(pk=incident.pk, state=Incident.State.OPEN).update(
        state=Incident.State.RESOLVED,
        resolved_at=at,
        resolved_by=by[:150],
        cooldown_until=cooldown_until,
    )
    if not claimed:
        return False
    incident.refresh_from_db()
    skipped = ActionRun.objects.filter(incident=incident, status=ActionRun.Status.PENDING).update(
        status=ActionRun.Status.SKIPPED, finished_at=at, detail={"skipped": "incident resolved"}
    )
    record(
        "resolved",
        incident,
        by=by,
        resolved_at=at.isoformat(),
        skipped_runs=skipped,
        cooldown_until=cooldown_until.isoformat(),
    )
    repeats.announce_resolved(incident)  # every channel it paged hears it is over
    recovered = [s for s in definition.playbook if isinstance(s.condition, grammar.Recovered)]
    if recovered:
        _plan(incident, recovered, at)
    return True


def open_incident_summary(service_id: str) -> dict | None:
    """The service's open incident for the status endpoint (newest, if several)."""
    incident = (
        Incident.objects.filter(service_id=service_id, state=Incident.State.OPEN)
        .order_by("-opened_at", "-pk")
        .first()
    )
    if incident is None:
        return None
    return {
        "id": incident.pk,
        "condition": incident.condition,
        "opened_at": incident.opened_at,
        "actions": list(
            incident.actions.order_by("step", "position").values("step", "action", "status")
        ),
    }
