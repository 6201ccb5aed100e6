"""Enqueue, claim, deliver, settle, reclaim and retry notifications."""

import logging
import time
import uuid
from datetime import timedelta
from functools import partial

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from ops import audit, channels
from ops.channels import ChannelError, Message
from ops.models import Channel, Notification, NotificationAttempt
from ops.models.chain import normalize_payload
from ops.retry import backoff

logger = logging.getLogger(__name__)

TOPIC = "ops.notification"
WORKER = "worker"
SEND_TASK = "ops.outbox.tasks.send_notification"
Status = Notification.Status
Outcome = NotificationAttempt.Outcome


def _dispatch(notification_id: int, countdown: float = 0) -> None:
    # By name: services never import a tasks module (ops.outbox.tasks imports this one).
    current_app.send_task(SEND_TASK, (notification_id,), countdown=countdown or None)


def _after_commit(notification_id: int, countdown: float = 0) -> None:
    # robust: a broker outage must not fail the caller's committed change;
    # the beat sweep (dispatch_due) sends the row later.
    transaction.on_commit(partial(_dispatch, notification_id, countdown), robust=True)


def enqueue(
    channel,
    message: str,
    *,
    dedupe_key: str,
    subject: str = "",
    payload=None,
    source_topic: str = "",
    source_id: str = "",
) -> Notification:
    """Write a notification row in the caller's transaction; dispatch after commit.

    ``channel`` is a ``Channel`` or its name. Enqueuing the same
    ``dedupe_key`` again returns the existing row and sends nothing new.
    """
    if isinstance(channel, str):
        found = Channel.objects.filter(name=channel).first()
        if found is None:
            raise ValueError(f"no notification channel named {channel!r}")
        channel = found
    dedupe_key = (dedupe_key or "").strip()
    if not dedupe_key or len(dedupe_key) > 255:
        raise ValueError("dedupe_key must be 1..255 characters")
    if not (message or "").strip():
        raise ValueError("a notification needs a message")
    with transaction.atomic():
        notification, created = Notification.objects.get_or_create(
            dedupe_key=dedupe_key,
            defaults={
                "channel": channel,
                "subject": subject[:300],
                "message": message,
                "payload": normalize_payload(payload or {}),
                "source_topic": source_topic[:100],
                "source_id": str(source_id)[:100],
            },
        )
    if created:
        _after_commit(notification.pk)
    return notification


def _lease() -> float:
    return float(settings.HMS_NOTIFY_LEASE_SECONDS)


def claim(notification_id: int) -> uuid.UUID | None:
    """pending & due -> sending, with a fresh token; ``None`` if another worker has it."""
    now = timezone.now()
    token = uuid.uuid4()
    won = Notification.objects.filter(
        pk=notification_id, status=Status.PENDING, next_attempt_at__lte=now
    ).update(
        status=Status.SENDING,
        claim_token=token,
        lease_until=now + timedelta(seconds=_lease()),
        attempts=F("attempts") + 1,
    )
    return token if won else None


def _earliest_unknown_outcome(notification: Notification, current_pk: int):
    """When an earlier attempt may have reached the peer, the time it started.

    Interrupted attempts, failures that may have delivered (timeouts), and
    successes that lost their claim before they could mark the row sent.
    """
    return (
        notification.attempt_log.exclude(pk=current_pk)
        .filter(Q(outcome__in=[Outcome.INTERRUPTED, Outcome.SENT]) | Q(maybe_delivered=True))
        .order_by("started_at")
        .values_list("started_at", flat=True)
        .first()
    )


def deliver(notification_id: int) -> str:
    """Claim, send outside any transaction, record the attempt, settle. Idempotent.

    Returns "sent", "retry", "failed", or "skipped" (not pending, not due, or
    claimed by another worker).
    """
    if connection.in_atomic_block:
        raise RuntimeError("deliver() sends over the network: call it outside a transaction")
    token = claim(notification_id)
    if token is None:
        return "skipped"
    notification = Notification.objects.select_related("channel").get(pk=notification_id)
    lease = _lease()
    # Every network call ends before the lease does, so a reclaimed row is never
    # still being sent by its first worker (reclaim waits for lease_until).
    deadline = time.monotonic() + lease - max(1.0, 0.1 * lease)
    attempt = NotificationAttempt.objects.create(
        notification=notification, claim_token=token, started_at=timezone.now()
    )
    message = Message(
        text=notification.message,
        subject=notification.subject,
        payload=notification.payload,
        marker=notification.marker,
        dedupe_key=notification.dedupe_key,
        source_topic=notification.source_topic,
        source_id=notification.source_id,
        deadline=deadline,
    )
    detail = None
    try:
        unknown_since = _earliest_unknown_outcome(notification, attempt.pk)
        if unknown_since is not None:
            detail = channels.find_delivered(notification.channel, message, unknown_since)
        if detail is None:
            detail = dict(channels.send(notification.channel, message) or {})
            if unknown_since is not None:
                detail["resent_after_unknown_outcome"] = True
    except ChannelError as exc:
        return _settle_failure(notification, attempt, token, exc)
    except Exception as exc:  # a bug in a channel kind: keep the row, retry finitely
        logger.exception("channel %s failed unexpectedly", notification.channel.name)
        error = ChannelError(f"{type(exc).__name__}: {exc}", permanent=False, maybe_delivered=True)
        return _settle_failure(notification, attempt, token, error)
    return _settle_success(notification, attempt, token, detail)


def _audit_payload(notification: Notification, status: str, **extra) -> dict:
    return {
        "notification": notification.pk,
        "channel": notification.channel.name,
        "dedupe_key": notification.dedupe_key,
        "status": status,
        "attempts": notification.attempts,
        "source_topic": notification.source_topic,
        "source_id": notification.source_id,
        **extra,
    }


def _settle_success(notification, attempt, token, detail: dict) -> str:
    now = timezone.now()
    with transaction.atomic():
        NotificationAttempt.objects.filter(pk=attempt.pk).update(
            outcome=Outcome.SENT, finished_at=now, detail=normalize_payload(detail)
        )
        won = Notification.objects.filter(
            pk=notification.pk, status=Status.SENDING, claim_token=token
        ).update(status=Status.SENT, sent_at=now, lease_until=None, claim_token=None, last_error="")
        if not won:
            # Our lease ran out and the sweep put the row back to pending: it was
            # delivered all the same, so settle it unless another worker holds it.
            won = Notification.objects.filter(pk=notification.pk, status=Status.PENDING).update(
                status=Status.SENT, sent_at=now, lease_until=None, claim_token=None, last_error=""
            )
        if won:
            notification.refresh_from_db(fields=["attempts"])
            audit.record(TOPIC, _audit_payload(notification, Status.SENT), actor=WORKER)
    return "sent" if won else "skipped"


def _settle_failure(notification, attempt, token, exc: ChannelError) -> str:
    now = timezone.now()
    notification.refresh_from_db(fields=["attempts", "budget_start"])
    used = notification.attempts - notification.budget_start
    give_up = exc.permanent or used >= settings.HMS_NOTIFY_MAX_ATTEMPTS
    base, cap = settings.HMS_NOTIFY_BACKOFF_SECONDS, settings.HMS_NOTIFY_BACKOFF_MAX_SECONDS
    delay = 0.0 if give_up else backoff(used, base, cap, exc.retry_after)
    error = str(exc)
    with transaction.atomic():
        NotificationAttempt.objects.filter(pk=attempt.pk).update(
            outcome=Outcome.PERMANENT_ERROR if exc.permanent else Outcome.TRANSIENT_ERROR,
            finished_at=now,
            error=error,
            maybe_delivered=exc.maybe_delivered,
            detail={"retry_after": exc.retry_after, "next_attempt_in": delay if delay else None},
        )
        won = Notification.objects.filter(
            pk=notification.pk, status=Status.SENDING, claim_token=token
        ).update(
            status=Status.FAILED if give_up else Status.PENDING,
            next_attempt_at=now + timedelta(seconds=delay),
            lease_until=None,
            claim_token=None,
            last_error=error,
        )
        if won and give_up:
            audit.record(
                TOPIC, _audit_payload(notification, Status.FAILED, error=error), actor=WORKER
            )
        elif won:
            _after_commit(notification.pk, delay)
    if not won:
        return "skipped"
    return "failed" if give_up else "retry"


def reclaim_expired(now=None) -> int:
    """Rows stuck in ``sending`` past their lease (worker died): back to pending.

    The interrupted attempt is marked so: its outcome is unknown, and the next
    attempt first asks the channel whether it was delivered.
    """
    now = now or timezone.now()
    stale = Notification.objects.filter(status=Status.SENDING, lease_until__lt=now)
    reclaimed = 0
    for pk, token, attempts, budget_start in stale.values_list(
        "pk", "claim_token", "attempts", "budget_start"
    ):
        give_up = attempts - budget_start >= settings.HMS_NOTIFY_MAX_ATTEMPTS
        error = "worker lost while sending (lease expired); delivery unknown"
        with transaction.atomic():
            won = Notification.objects.filter(
                pk=pk, status=Status.SENDING, claim_token=token
            ).update(
                status=Status.FAILED if give_up else Status.PENDING,
                next_attempt_at=now,
                lease_until=None,
                claim_token=None,
                last_error=error,
            )
            if not won:
                continue
            NotificationAttempt.objects.filter(
                notification_id=pk, claim_token=token, outcome=Outcome.IN_PROGRESS
            ).update(outcome=Outcome.INTERRUPTED, finished_at=now, error=error)
            if give_up:
                notification = Notification.objects.select_related("channel").get(pk=pk)
                audit.record(
                    TOPIC, _audit_payload(notification, Status.FAILED, error=error), actor=WORKER
                )
        reclaimed += 1
    return reclaimed


def dispatch_due(limit: int = 500) -> dict:
    """The beat sweep: reclaim expired leases, then queue every due pending row."""
    reclaimed = reclaim_expired()
    due = list(
        Notification.objects.filter(status=Status.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in due:
        _dispatch(pk)
    return {"reclaimed": reclaimed, "queued": len(due)}


def retry(notification: Notification, *, actor=None) -> bool:
    """A row that gave up gets a fresh retry budget (the admin's "retry" action)."""
    with transaction.atomic():
        won = Notification.objects.filter(pk=notification.pk, status=Status.FAILED).update(
            status=Status.PENDING, next_attempt_at=timezone.now(), budget_start=F("attempts")
        )
        if won:
            notification.refresh_from_db()
            audit.record(TOPIC, _audit_payload(notification, "retry_requested"), actor=actor)
            _after_commit(notification.pk)
    return bool(won)
