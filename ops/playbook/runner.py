"""The playbook runner: each planned action run is claimed once, executed, retried or failed.

Runs are planned by ``ops.playbook.incidents`` and sent to the ``run_playbook_action``
task after commit; the beat-driven sweep (``dispatch_due``) sends any due run again,
so a lost task or a restarted worker loses nothing (docs/PLAYBOOK.md).

``execute`` claims a run with a conditional UPDATE (pending and due, or a running run
whose lease expired, its lost attempt then recorded as ``interrupted``, or the run
failed and paged when that was its last attempt): a second delivery claims nothing,
and a slow worker whose run was taken over writes nothing more (``LostClaim``, result
``lost claim``). A transient Kubernetes error puts the run back to pending with a
back-off ``due_at`` (``ops.retry.backoff``; finite: ``HMS_PLAYBOOK_MAX_ATTEMPTS``); a
permanent one fails it and pages the playbook's channel with the reason. Every attempt
is kept in ``detail["attempts"]`` and every outcome is an ``ops.incident`` audit entry.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from ops import maintenance, outbox
from ops.kube import KubeError
from ops.models import ActionRun, Channel, Incident
from ops.playbook import dispatch, grammar
from ops.playbook.executors import (
    AUDIT_TOPIC,
    EXECUTORS,
    ActionError,
    Context,
    LostClaim,
    action_from,
    incident_summary,
)
from ops.playbook.incidents import MAINTENANCE, definition_of, record
from ops.retry import backoff
from ops.servicedef import ServiceDefinition

logger = logging.getLogger(__name__)
SWEEP_BATCH = 200
LOST_CLAIM = "lost claim"


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
        _page_failure(run, failure, definition_of(run.incident.service))
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
    record(
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
    if run.trigger != "always" and maintenance.in_maintenance(incident.service_id, timezone.now()):
        with transaction.atomic():  # re-armed when the window ends (incidents.maintenance_ended)
            _finish(run, ActionRun.Status.SKIPPED, {**run.detail, "skipped": MAINTENANCE})
        return ActionRun.Status.SKIPPED
    definition = definition_of(incident.service)
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
        base, cap = settings.HMS_PLAYBOOK_RETRY_SECONDS, settings.HMS_PLAYBOOK_RETRY_MAX_SECONDS
        wait = backoff(run.attempts, base, cap)
        due = timezone.now() + timedelta(seconds=wait)
        with transaction.atomic():
            if not _finish(run, ActionRun.Status.PENDING, detail, due_at=due):
                return LOST_CLAIM
            transaction.on_commit(lambda: dispatch.send([(run.pk, due)]), robust=True)
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
    dispatch.send(due)
    return len(due)
