"""Reminders of open escalations, and snoozing them.

A route with ``remind_every`` reminds its channel of every escalation it
takes while that escalation is ``open`` (not acknowledged, not resolved) and
not snoozed, at most ``max_reminders`` times. Due times are rows
(``EscalationReminder``); the beat task ``apm.tasks.send_due_reminders`` runs
``sweep``, which plans rows for newly open escalations and sends what is
due. Each reminder is claimed by a conditional UPDATE and written to the
outbox in the same transaction (dedupe key per reminder number), so a second
sweep, a task delivered twice or a worker killed half-way sends it once.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q

from apm import maintenance
from apm.escalations import NotOpen, routes_for
from apm.models import Baseline, Escalation, EscalationReminder, EscalationRoute
from apm.notices import TOPIC, human, subject_of, takes_follow_ups
from ops import audit, clock, outbox

WORKER = "worker"
SNOOZE_MAX = timedelta(days=90)
NOTE_MAX = 5000


def _due(now: datetime):
    return EscalationReminder.objects.filter(
        Q(escalation__snoozed_until__isnull=True) | Q(escalation__snoozed_until__lte=now),
        Q(route__max_reminders__isnull=True) | Q(sent__lt=F("route__max_reminders")),
        next_at__lte=now,
        escalation__status=Escalation.Status.OPEN,
        route__active=True,
        route__remind_every__isnull=False,
        route__channel__enabled=True,
    )


def plan(now: datetime | None = None) -> int:
    """Give every open escalation a due time on each reminding route that takes it."""
    planned = 0
    routes = EscalationRoute.objects.filter(
        active=True, remind_every__isnull=False, channel__enabled=True
    ).select_related("channel")
    for route in routes:
        if not takes_follow_ups(route.channel):
            continue
        escalations = Escalation.objects.filter(status=Escalation.Status.OPEN).exclude(
            reminders__route=route
        )
        if route.program_id is not None:
            escalations = escalations.filter(baseline__program_id=route.program_id)
        levels = [lvl for lvl in Escalation.Level.values if route.accepts(lvl)]
        rows = [
            EscalationReminder(escalation_id=pk, route=route, next_at=opened + route.remind_every)
            for pk, opened in escalations.filter(level__in=levels).values_list("pk", "opened_at")
        ]
        planned += len(EscalationReminder.objects.bulk_create(rows, ignore_conflicts=True))
    return planned


def sweep(now: datetime | None = None, limit: int = 500) -> dict:
    """The beat task's work: plan, then send every due reminder once."""
    now = now or clock.now()
    planned = plan(now)
    sent = 0
    for pk in list(_due(now).order_by("next_at").values_list("pk", flat=True)[:limit]):
        sent += send_one(pk, now) is not None
    return {"planned": planned, "reminded": sent}


def describe(escalation: Escalation, now: datetime) -> str:
    """'still red for 3 days: actual 41.7, promised ≤ 30 (+39.0 %)'."""
    baseline: Baseline = escalation.baseline
    op = "≤" if baseline.compare_op == Baseline.CompareOp.LE else "≥"
    red = f"still red for {human(now - escalation.red_since)}"
    deviation = escalation.deviation
    if deviation is None:
        return f"{red}: {escalation.message}"
    actual = "no data" if deviation.actual is None else f"{deviation.actual:g}"
    return (
        f"{red}: actual {actual}, promised {op} {baseline.target_value:g} "
        f"({deviation.deviation_pct:+.1f} %)"
    )


def send_one(reminder_id: int, now: datetime):
    """Claim the reminder if it is still due and queue its message; the row, or ``None``."""
    with transaction.atomic():
        claimable = _due(now).filter(pk=reminder_id)
        reminder = claimable.select_related(
            "escalation__baseline__program", "escalation__deviation", "route__channel"
        ).first()
        if reminder is None:
            return None
        escalation, route = reminder.escalation, reminder.route
        if route not in routes_for(escalation):  # program or level no longer match
            return None
        if maintenance.baseline_in_maintenance(escalation.baseline, now):
            return None  # still due: the first sweep after the window sends it
        number = reminder.sent + 1
        won = claimable.filter(sent=reminder.sent, next_at=reminder.next_at).update(
            sent=number, next_at=now + route.remind_every, last_sent_at=now
        )
        if not won:
            return None
        subject = subject_of(escalation, "REMINDER")
        text = describe(escalation, now)
        outbox.enqueue(
            route.channel,
            text,
            subject=subject,
            dedupe_key=f"{TOPIC}:{escalation.pk}:reminder-{number}:route-{route.pk}",
            payload={
                "event": "reminder",
                "escalation": escalation.pk,
                "baseline": escalation.baseline_id,
                "program": escalation.baseline.program.code,
                "level": escalation.level,
                "reminder": number,
                "red_since": escalation.red_since,
            },
            source_topic=TOPIC,
            source_id=str(escalation.pk),
        )
        audit.record(
            TOPIC,
            {
                "escalation": escalation.pk,
                "change": "reminded",
                "route": route.pk,
                "channel": route.channel.name,
                "reminder": number,
                "message": text,
            },
            actor=WORKER,
        )
    return reminder


def snooze(escalation: Escalation, *, actor, until: datetime, note: str = "", now=None):
    """No reminders of ``escalation`` until ``until`` (at most 90 days ahead); audited."""
    now = now or clock.now()
    errors = {}
    if until is None or until <= now:
        errors["until"] = "Snooze until a moment in the future."
    elif until - now > SNOOZE_MAX:
        errors["until"] = f"Snooze for at most {SNOOZE_MAX.days} days."
    if len(note or "") > NOTE_MAX:
        errors["note"] = f"At most {NOTE_MAX} characters."
    if errors:
        raise ValidationError(errors)
    note = (note or "").strip()
    with transaction.atomic():
        current = (
            Escalation.objects.select_for_update(of=("self",))
            .select_related("baseline__program")
            .filter(pk=escalation.pk, status__in=Escalation.OPEN_STATUSES)
            .first()
        )
        if current is None:
            raise NotOpen("This escalation is already resolved.")
        current.snoozed_until = until
        line = f"Snoozed until {until.astimezone(UTC):%Y-%m-%d %H:%M} UTC" + (
            f": {note}" if note else "."
        )
        current.note = f"{current.note}\n{line}" if current.note else line
        current.save(update_fields=["snoozed_until", "note", "updated_at"])
        audit.record(
            TOPIC,
            {
                "escalation": current.pk,
                "change": "snoozed",
                "baseline": current.baseline_id,
                "program": current.baseline.program.code,
                "status": current.status,
                "snoozed_until": until,
                "note": note,
            },
            actor=actor,
        )
    return current
