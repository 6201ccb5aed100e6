"""The hand-off of SLO state changes: audit, incidents and playbook plans, per service.

The evaluator (``ops.slo.evaluate_all``) commits the state changes only: the
``SLOStateChange`` rows are the durable hand-off. After that commit the changed
services are sent by name to the ``hand_off_slo_changes`` task (``send``, a few
services a message); for each service in turn the task (``hand_off``) audits every
unhandled change and calls ``ops.playbook.incidents.on_slo_change``, in that
service's own transaction, and sets ``handled_at``. So a mass breach neither holds
the evaluator's lock nor delays the next pass.

- **Idempotent.** The service's row is taken ``FOR UPDATE SKIP LOCKED``: a second
  delivery while the first runs returns at once, and one after it finds nothing
  unhandled. A change is marked handled by a conditional UPDATE in the same
  transaction as its audit entry and incident, so it is applied once.
- **In order.** A service's changes are handled in id (= pass) order, each after
  the one before it; a change that fails stops the service's queue there, so a
  later ``healthy`` is never applied before the ``breached`` it follows. The
  holder of the lock looks again after its commit, so a change committed while it
  ran (whose task found the lock taken) is not left waiting.
- **Nothing lost.** A change still unhandled ``HMS_SLO_HANDOFF_GRACE_SECONDS``
  after its pass (the task lost, the worker killed, Redis down) is sent again by
  ``sweep``, a step of the beat's ``ops.services.tick``.
- **Finite retries.** A failed attempt is stored on the row (``handoff_attempts``,
  ``handoff_error``) and the service's queue stops there; the sweep sends it again
  after ``ops.retry.backoff`` (``HMS_PLAYBOOK_RETRY_*``). After
  ``HMS_SLO_HANDOFF_MAX_ATTEMPTS`` the change is closed with its error and an
  ``ops.slo`` ``handoff_failed`` audit entry, and the service's next changes go on.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ops import audit
from ops.models import Service, SLOStateChange
from ops.playbook import incidents
from ops.retry import backoff

logger = logging.getLogger(__name__)
HANDOFF_TASK = "ops.tasks.hand_off_slo_changes"
AUDIT_TOPIC = "ops.slo"
ACTOR = "slo-evaluator"
SWEEP_BATCH = 500
HANDOFF_BATCH = 25


def due_at(now: datetime | None = None) -> datetime:
    """When a change committed ``now`` is sent again if still unhandled."""
    return (now or timezone.now()) + timedelta(seconds=settings.HMS_SLO_HANDOFF_GRACE_SECONDS)


def send(service_ids) -> None:
    """Queue the hand-off of these services after the evaluator's commit.

    One message per ``HANDOFF_BATCH`` services, on one broker connection: a message costs
    the tick a broker round trip (measured: 1,000 single-service messages were most of a
    mass-breach tick), and each service is still handled in its own transaction.
    """
    ids = list(service_ids)
    with current_app.producer_or_acquire() as producer:
        for start in range(0, len(ids), HANDOFF_BATCH):
            batch = ids[start : start + HANDOFF_BATCH]
            current_app.send_task(HANDOFF_TASK, (batch,), producer=producer)


def hand_off_all(service_ids) -> int:
    """The task's body: ``hand_off`` each service in turn; how many changes were handled."""
    return sum(hand_off(service_id) for service_id in service_ids)


def _unhandled(service_id: str):
    return SLOStateChange.objects.filter(slo__service_id=service_id, handled_at__isnull=True)


def hand_off(service_id: str) -> int:
    """Handle every unhandled change of one service, in order; returns how many were handled.

    Safe to run twice or at the same time as another worker: see the module's docstring.
    Stops at a failed change, which the sweep sends again after its back-off.
    """
    handled = 0
    while True:
        drained = _drain(service_id)
        if drained is None:  # another worker holds the service; it looks again after its commit
            return handled
        done, stopped = drained
        handled += done
        if stopped or not _unhandled(service_id).exists():
            return handled


@transaction.atomic
def _drain(service_id: str) -> tuple[int, bool] | None:
    """One transaction: the service's unhandled changes, oldest first; (handled, stopped).

    ``stopped``: a change failed and waits for its retry (the later ones wait behind it).
    None when another transaction holds the service (it is handling these changes).
    """
    locked = Service.objects.select_for_update(skip_locked=True).filter(pk=service_id)
    if not list(locked.values_list("pk", flat=True)):
        return None
    now = timezone.now()
    done = 0
    for change in _unhandled(service_id).select_related("slo").order_by("id"):
        try:
            with transaction.atomic():
                claimed = SLOStateChange.objects.filter(
                    pk=change.pk, handled_at__isnull=True
                ).update(handled_at=now)
                if claimed:
                    _apply(change)
                    done += 1
        except Exception as exc:  # recorded on the row and retried; the queue stops here
            logger.exception("hand-off of SLO change %s failed", change.pk)
            if not _failed(change, exc, now):
                return done, True
    return done, False


def _apply(change: SLOStateChange) -> None:
    audit.record(
        AUDIT_TOPIC,
        {
            "service": change.slo.service_id,
            "slo": change.slo_id,
            "from": change.from_state,
            "to": change.to_state,
            "value": change.value,
            "samples": change.sample_count,
            "in_maintenance": change.in_maintenance,
            "at": change.at.isoformat(),
        },
        actor=ACTOR,
    )
    incidents.on_slo_change(
        change.slo_id, change.from_state, change.to_state, change.at, change.value
    )


def _failed(change: SLOStateChange, exc: Exception, now: datetime) -> bool:
    """Store the failed attempt; True when it was the last one (the change is closed)."""
    attempts = change.handoff_attempts + 1
    error = f"{type(exc).__name__}: {exc}"[:2000]
    if attempts < settings.HMS_SLO_HANDOFF_MAX_ATTEMPTS:
        wait = backoff(
            attempts, settings.HMS_PLAYBOOK_RETRY_SECONDS, settings.HMS_PLAYBOOK_RETRY_MAX_SECONDS
        )
        SLOStateChange.objects.filter(pk=change.pk).update(
            handoff_attempts=attempts,
            handoff_error=error,
            handoff_due_at=now + timedelta(seconds=wait),
        )
        return False
    SLOStateChange.objects.filter(pk=change.pk).update(
        handoff_attempts=attempts, handoff_error=error, handled_at=now
    )
    audit.record(
        AUDIT_TOPIC,
        {
            "event": "handoff_failed",
            "service": change.slo.service_id,
            "slo": change.slo_id,
            "change": change.pk,
            "from": change.from_state,
            "to": change.to_state,
            "attempts": attempts,
            "error": error,
        },
        actor=ACTOR,
    )
    return True


def sweep(now: datetime | None = None) -> int:
    """Send again the services whose changes are unhandled past their due time; how many.

    Their due time moves on by the grace period, so a slow backlog is resent once per
    grace period, not at every pass; a resend of a handled service does nothing.
    """
    now = now or timezone.now()
    due = SLOStateChange.objects.filter(handled_at__isnull=True, handoff_due_at__lte=now)
    services = list(
        due.order_by("slo__service_id")
        .values_list("slo__service_id", flat=True)
        .distinct()[:SWEEP_BATCH]
    )
    if not services:
        return 0
    due.filter(slo__service_id__in=services).update(handoff_due_at=due_at(now))
    transaction.on_commit(lambda: send(services), robust=True)
    return len(services)


def run_pending() -> int:
    """Hand off every unhandled change now, in this process (tests, the benchmark).

    What the workers do with the tasks ``send`` and ``sweep`` queue, without a broker.
    """
    services = (
        SLOStateChange.objects.filter(handled_at__isnull=True)
        .order_by("slo__service_id")
        .values_list("slo__service_id", flat=True)
        .distinct()
    )
    return hand_off_all(list(services))
