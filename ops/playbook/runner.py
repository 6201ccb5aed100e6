"""The playbook runner: SLO changes open and resolve incidents; action runs are claimed once.

Flow (docs/PLAYBOOK.md):

1. The evaluator calls ``on_slo_change`` inside its transaction. A change to
   ``breached`` opens an ``Incident`` (one open per service and SLO, a DB
   constraint) and plans one ``ActionRun`` per action of every ``slo_breach``,
   ``still_breach_after N`` and ``always`` step, each with a ``due_at``
   (``still_breach_after`` counts from the incident's start). A change to
   ``healthy`` resolves the open incident, skips its pending runs and plans the
   ``recovered`` steps.
2. After commit each run is sent to the ``run_playbook_action`` task (with a
   countdown for later ones); the beat-driven sweep (``dispatch_due``) sends
   any due run again, so a lost task or a restarted worker loses nothing.
3. ``execute`` claims a run with a conditional UPDATE (pending and due, or a
   running run whose lease expired, its lost attempt then recorded as
   ``interrupted``, or the run failed and paged when that was its last attempt):
   a second delivery claims nothing, and a slow worker whose run
   was taken over writes nothing more (``LostClaim``, result ``lost claim``). A
   transient Kubernetes error puts the run back to pending with a back-off
   ``due_at`` (finite: ``HMS_PLAYBOOK_MAX_ATTEMPTS``); a permanent one fails it
   and pages the playbook's channel with the reason. Every attempt is kept in
   ``detail["attempts"]`` and every outcome is an ``ops.incident`` audit entry.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from ops import audit, outbox
from ops.kube import KubeError
from ops.models import SLO, ActionRun, Channel, Incident, Service
from ops.playbook import grammar
from ops.playbook.executors import (
    ACTOR,
    AUDIT_TOPIC,
    EXECUTORS,
    ActionError,
    Context,
    LostClaim,
    action_from,
    incident_summary,
)
from ops.servicedef import ServiceDefinition, parse_definition

logger = logging.getLogger(__name__)
SWEEP_BATCH = 200
LOST_CLAIM = "lost claim"
OPENING_TRIGGERS = (None, "slo_breach", "still_breach_after")
CORRECTIVE = ("slo_breach", "still_breach_after", "recovered")


def _definition(service: Service) -> ServiceDefinition:
    return parse_definition(service.source or service.document)


def _delay(seconds: float) -> timedelta:
    return timedelta(seconds=seconds * settings.HMS_PLAYBOOK_DELAY_SCALE)


def _trigger(step: grammar.Step) -> str:
    return "always" if step.condition is None else step.condition.keyword


def _audit(event: str, incident: Incident, *, actor=None, **extra) -> None:
    audit.record(
        AUDIT_TOPIC,
        {"event": event, "incident": incident.pk, "service": incident.service_id, **extra},
        actor=actor or ACTOR,
    )


# --- planning -------------------------------------------------------------------------


def _plan(incident: Incident, steps, at: datetime) -> list[ActionRun]:
    runs = []
    for step in steps:
        trigger = _trigger(step)
        due = at
        if isinstance(step.condition, grammar.StillBreachAfter):
            due = at + _delay(step.condition.seconds)
        skip = incident.in_cooldown and trigger in CORRECTIVE
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
                    detail={"skipped": "cooldown"} if skip else {},
                )
            )
    created = ActionRun.objects.bulk_create(runs, ignore_conflicts=True)
    pending = list(
        ActionRun.objects.filter(incident=incident, status=ActionRun.Status.PENDING).values_list(
            "pk", "due_at"
        )
    )
    transaction.on_commit(lambda: _send(pending), robust=True)  # ops.outbox: the rule
    return created


def _send(runs) -> None:
    from ops.tasks import run_playbook_action

    now = timezone.now()
    for pk, due in runs:
        countdown = max(0.0, (due - now).total_seconds())
        run_playbook_action.apply_async((pk,), countdown=countdown)


# --- incidents ------------------------------------------------------------------------


def on_slo_change(slo_id: int, from_state: str, to_state: str, at: datetime) -> None:
    """Hook for the evaluator, inside its transaction."""
    if to_state == SLO.State.BREACHED:
        open_incident(SLO.objects.select_related("service").get(pk=slo_id), at)
    elif to_state == SLO.State.HEALTHY:
        for incident in Incident.objects.filter(slo_id=slo_id, state=Incident.State.OPEN):
            resolve_incident(incident, at=at, by="slo-evaluator")


def open_incident(slo: SLO, at: datetime) -> Incident | None:
    """Open the SLO's incident and plan its steps; None when one is already open."""
    definition = _definition(slo.service)
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
    definition = _definition(service)
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
    _audit(
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
    definition = _definition(incident.service)
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
    _audit(
        "resolved",
        incident,
        by=by,
        resolved_at=at.isoformat(),
        skipped_runs=skipped,
        cooldown_until=cooldown_until.isoformat(),
    )
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


# --- running one action ---------------------------------------------------------------


def claim(run_id: int, now: datetime | None = None) -> ActionRun | None:
    """Take a due run (or one whose worker died) for this worker; None when someone else has it.

    The run comes back ``failed`` (not ``running``) when the dead worker's attempt was the
    last one allowed: there is nothing to execute then.
    """
    now = now or timezone.now()
    take = {
        "status": ActionRun.Status.RUNNING,
        "attempts": F("attempts") + 1,
        "started_at": Coalesce(F("started_at"), Value(now)),
        "lease_until": now + timedelta(seconds=settings.HMS_PLAYBOOK_LEASE_SECONDS),
    }
    due = ActionRun.objects.filter(pk=run_id, due_at__lte=now, status=ActionRun.Status.PENDING)
    if due.update(**take):
        return _claimed(run_id)
    return _reclaim(run_id, now, take)


def _claimed(run_id: int) -> ActionRun:
    return ActionRun.objects.select_related("incident__service", "incident__slo").get(pk=run_id)


def _expired(run_id: int, now: datetime):
    return ActionRun.objects.filter(
        pk=run_id, due_at__lte=now, status=ActionRun.Status.RUNNING, lease_until__lt=now
    )


def _lost(run_id: int, now: datetime) -> dict | None:
    """The attempt, lease and detail of a running run whose lease expired (None: no such run)."""
    return _expired(run_id, now).values("attempts", "lease_until", "detail").first()


@transaction.atomic
def _reclaim(run_id: int, now: datetime, take: dict) -> ActionRun | None:
    """Take a running run whose lease expired: the worker of its last attempt died.

    That attempt recorded nothing (it may or may not have reached Kubernetes), so it
    is recorded here, as the outbox records an interrupted send: an ``interrupted``
    entry in ``detail["attempts"]`` and an ``action_interrupted`` audit entry. The
    UPDATE is fenced on the attempt and lease it read, so two sweeps take it once.

    When that attempt was the last one ``HMS_PLAYBOOK_MAX_ATTEMPTS`` allows, the same
    fenced UPDATE fails the run instead, and the winner pages the playbook's channel
    with the reason, as for a permanent error. Otherwise the next attempt starts at
    once: the expired lease already was a wait far longer than a retry's back-off.
    """
    lost = _lost(run_id, now)
    if lost is None:
        return None
    entry = {
        "attempt": lost["attempts"],
        "at": now.isoformat(),
        "outcome": "interrupted",
        "error": "worker lost (lease expired)",
        "lease_until": lost["lease_until"].isoformat(),
    }
    detail = dict(lost["detail"] or {})
    detail["attempts"] = [*detail.get("attempts", []), entry]
    fenced = _expired(run_id, now).filter(
        attempts=lost["attempts"], lease_until=lost["lease_until"]
    )
    exhausted = lost["attempts"] >= settings.HMS_PLAYBOOK_MAX_ATTEMPTS
    if exhausted:
        times = sum(1 for a in detail["attempts"] if a.get("outcome") == "interrupted")
        failure = ActionError(
            f"worker lost {times} time{'s' if times != 1 else ''} (lease expired): attempts "
            f"exhausted (HMS_PLAYBOOK_MAX_ATTEMPTS={settings.HMS_PLAYBOOK_MAX_ATTEMPTS})"
        )
        failed = {"failure": str(failure)}
        detail.update(failed)
        won = fenced.update(
            status=ActionRun.Status.FAILED, detail=detail, lease_until=None, finished_at=now
        )
    else:
        won = fenced.update(**take, detail=detail)
    if not won:
        return None
    run = _claimed(run_id)
    _audit_run("action_interrupted", run, attempt=entry["attempt"], detail=entry)
    if exhausted:
        _audit_run("action_failed", run, attempt=entry["attempt"], detail={**entry, **failed})
        _page_failure(run, failure, _definition(run.incident.service))
    return run


def _attempt(run: ActionRun, outcome: str, **extra) -> dict:
    detail = dict(run.detail or {})
    detail["attempts"] = [
        *detail.get("attempts", []),
        {"attempt": run.attempts, "at": timezone.now().isoformat(), "outcome": outcome, **extra},
    ]
    return detail


def _finish(run: ActionRun, status: str, detail: dict, **fields) -> bool:
    if status != ActionRun.Status.PENDING:
        fields["finished_at"] = timezone.now()
    done = run.while_held().update(status=status, detail=detail, lease_until=None, **fields)
    if done:
        last = detail.get("attempts", [])[-1] if detail.get("attempts") else detail
        _audit_run(f"action_{status}", run, attempt=run.attempts, detail=last)
    return bool(done)


def _audit_run(event: str, run: ActionRun, *, attempt: int, detail: dict) -> None:
    _audit(
        event,
        run.incident,
        run=run.pk,
        step=run.step,
        position=run.position,
        action=run.action,
        trigger=run.trigger,
        attempt=attempt,
        detail=detail,
    )


def execute(run_id: int) -> str:
    """Run one planned action at most once; returns what happened (for the task result)."""
    run = claim(run_id)
    if run is None:
        return "not claimed"
    if run.status != ActionRun.Status.RUNNING:  # its last attempt was lost: failed, paged
        return run.status
    incident = run.incident
    if run.trigger == "still_breach_after" and incident.state != Incident.State.OPEN:
        with transaction.atomic():
            _finish(run, ActionRun.Status.SKIPPED, {**run.detail, "skipped": "incident resolved"})
        return ActionRun.Status.SKIPPED
    definition = _definition(incident.service)
    action = action_from(run)
    executor = EXECUTORS.get(run.action)
    ctx = Context(run=run, incident=incident, kubernetes=definition.kubernetes)
    if executor is None:
        with transaction.atomic():
            detail = _attempt(run, "failed", error=f"no executor for {run.action!r}")
            _finish(run, ActionRun.Status.FAILED, detail)
        return ActionRun.Status.FAILED
    try:
        if executor.transactional:
            with transaction.atomic():
                result = executor.run(action, ctx)
                detail = _attempt(run, "succeeded", **result)
                if not _finish(run, ActionRun.Status.SUCCEEDED, detail):
                    transaction.set_rollback(True)  # its rows are the new owner's to write
                    return LOST_CLAIM
            return ActionRun.Status.SUCCEEDED
        result = executor.run(action, ctx)
    except LostClaim as exc:  # another worker owns the run now; its row is not ours to write
        logger.warning("playbook action run %s: %s; this worker stops", run.pk, exc)
        return LOST_CLAIM
    except (KubeError, ActionError) as exc:
        return _failed(run, exc, definition)
    except Exception as exc:  # a bug must not leave the run "running" to be retried forever
        logger.exception("playbook action run %s failed", run.pk)
        return _failed(run, ActionError(f"{type(exc).__name__}: {exc}"), definition)
    with transaction.atomic():
        finished = _finish(run, ActionRun.Status.SUCCEEDED, _attempt(run, "succeeded", **result))
    return ActionRun.Status.SUCCEEDED if finished else LOST_CLAIM


def _failed(run: ActionRun, exc: KubeError | ActionError, definition: ServiceDefinition) -> str:
    error = {"error": str(exc), "http_status": exc.status, "permanent": exc.permanent}
    detail = _attempt(run, "error", **error)
    if not exc.permanent and run.attempts < settings.HMS_PLAYBOOK_MAX_ATTEMPTS:
        wait = settings.HMS_PLAYBOOK_RETRY_SECONDS * 2 ** (run.attempts - 1)
        due = timezone.now() + timedelta(seconds=wait)
        with transaction.atomic():
            if not _finish(run, ActionRun.Status.PENDING, detail, due_at=due):
                return LOST_CLAIM
            transaction.on_commit(lambda: _send([(run.pk, due)]), robust=True)
        return "retry"
    detail["failure"] = str(exc)
    with transaction.atomic():
        if not _finish(run, ActionRun.Status.FAILED, detail):
            return LOST_CLAIM
        _page_failure(run, exc, definition)
    return ActionRun.Status.FAILED


def _page_failure(run: ActionRun, exc: Exception, definition: ServiceDefinition) -> None:
    """Tell the people: page the playbook's first page channel with the reason."""
    named = [
        a.channel for s in definition.playbook for a in s.actions if isinstance(a, grammar.Page)
    ]
    existing = set(Channel.objects.filter(name__in=named).values_list("name", flat=True))
    channels = [name for name in named if name in existing]
    if not channels:
        logger.warning("playbook action run %s failed and no page channel exists", run.pk)
        return
    text = (
        f"[critical] playbook action {run.action} failed for {incident_summary(run.incident)}: "
        f"{exc}"
    )
    outbox.enqueue(
        channels[0],
        text,
        dedupe_key=f"ops.incident:{run.incident_id}:run:{run.pk}:failed",
        subject=f"playbook action failed: {run.incident.service_id}",
        payload={"incident": run.incident_id, "run": run.pk, "error": str(exc)},
        source_topic=AUDIT_TOPIC,
        source_id=str(run.incident_id),
    )


def dispatch_due(now: datetime | None = None) -> int:
    """Send every due pending run (and every expired lease) to a worker; the claim dedupes."""
    now = now or timezone.now()
    due = list(
        ActionRun.objects.filter(due_at__lte=now)
        .filter(
            Q(status=ActionRun.Status.PENDING)
            | Q(status=ActionRun.Status.RUNNING, lease_until__lt=now)
        )
        .order_by("due_at")
        .values_list("pk", "due_at")[:SWEEP_BATCH]
    )
    _send(due)
    return len(due)
