"""What every escalation change shares: the audit entry, the routes and their announcement,
the message, the row lock, the insert and the resolution (split from ``apm.escalations``,
which holds the decisions and imports this module; nothing else should)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from apm.models import Baseline, Deviation, Escalation, EscalationRoute, Ticket
from ops import audit, outbox

TOPIC = "apm.escalation"
WATCHDOG = "watchdog"


def audit_change(escalation: Escalation, change: str, actor=None, **extra) -> None:
    audit.record(
        TOPIC,
        {
            "escalation": escalation.pk,
            "change": change,
            "baseline": escalation.baseline_id,
            "baseline_name": escalation.baseline.name,
            "program": escalation.baseline.program.code,
            "level": escalation.level,
            "status": escalation.status,
            "message": escalation.message,
            "red_since": escalation.red_since,
            "deviation": escalation.deviation_id,
            **extra,
        },
        actor=actor or WATCHDOG,
    )


def routes_for(escalation: Escalation) -> list[EscalationRoute]:
    """Active routes of the escalation's program (or of every program) that take its level."""
    candidates = EscalationRoute.objects.filter(active=True, channel__enabled=True).select_related(
        "channel"
    )
    candidates = candidates.filter(program__isnull=True) | candidates.filter(
        program_id=escalation.baseline.program_id
    )
    return [r for r in candidates.order_by("pk") if r.accepts(escalation.level)]


def announce(escalation: Escalation) -> list:
    """Queue one notification per matching route for the escalation's current level.

    The dedupe key is (escalation, level, route): announcing the same level again
    (the watchdog re-running while still red) sends nothing new; reaching a
    higher level is a new event.
    """
    baseline = escalation.baseline
    subject = f"[{escalation.level.upper()}] {baseline.program.code} / {baseline.name}"
    payload = {
        "escalation": escalation.pk,
        "baseline": baseline.pk,
        "program": baseline.program.code,
        "level": escalation.level,
        "red_since": escalation.red_since,
        "deviation_pct": escalation.deviation.deviation_pct if escalation.deviation else None,
    }
    return [
        outbox.enqueue(
            route.channel,
            f"{subject}: {escalation.message}",
            subject=subject,
            dedupe_key=f"apm.escalation:{escalation.pk}:{escalation.level}:route-{route.pk}",
            payload=payload,
            source_topic=TOPIC,
            source_id=str(escalation.pk),
        )
        for route in routes_for(escalation)
    ]


def describe(deviation: Deviation) -> str:
    """The watchdog's message: what was measured against what, and why it is red."""
    baseline = deviation.baseline
    promise = (
        f"{'≤' if baseline.compare_op == Baseline.CompareOp.LE else '≥'} {baseline.target_value:g}"
    )
    if deviation.actual is None:
        reason = deviation.evidence.get("error") or deviation.get_status_display()
        return (
            f"{baseline.name}: no measurement ({reason}); counts as "
            f"{deviation.deviation_pct:g} % deviation from {promise}"
        )
    return (
        f"{baseline.name} is {deviation.actual:g}, promised {promise}: off by "
        f"{deviation.deviation_pct:.1f} % (threshold {baseline.threshold_pct:g} %)"
    )


def lock_open(baseline_id: int, *, baseline: Baseline | None = None) -> Escalation | None:
    """The baseline's open escalation, row-locked; None when nothing is open.

    Given the ``baseline`` object (the watchdog has it loaded), it is attached
    instead of joined: the watchdog's hot path reads one narrow row.
    """
    open_ = Escalation.objects.select_for_update(of=("self",)).filter(
        baseline_id=baseline_id, status__in=Escalation.OPEN_STATUSES
    )
    if baseline is None:
        return open_.select_related("baseline__program", "deviation").first()
    escalation = open_.first()
    if escalation is not None:
        escalation.baseline = baseline
    return escalation


def create_open(escalation: Escalation) -> Escalation | None:
    """Insert in a savepoint; ``None`` when a concurrent writer opened one first."""
    try:
        with transaction.atomic():
            escalation.save()
    except IntegrityError:
        return None
    return escalation


class NotOpen(ValueError):
    """The escalation is already resolved."""


def append_note(existing: str, note: str) -> str:
    return f"{existing}\n{note.strip()}" if existing else note.strip()


def resolve_now(escalation: Escalation, *, actor, note: str, auto: bool, deviation=None):
    now = timezone.now()
    escalation.status = Escalation.Status.RESOLVED
    escalation.resolved_at = now
    escalation.resolved_by = None if auto or isinstance(actor, str) else actor
    escalation.auto_resolved = auto
    if note.strip():
        escalation.note = append_note(escalation.note, note)
    escalation.save()
    audit_change(
        escalation,
        "resolved automatically" if auto else "resolved",
        actor,
        note=note.strip(),
        ok_deviation=deviation.pk if deviation else None,
    )
    _close_escalation_tickets(escalation, actor, now)
    from apm import notices

    notices.announce_resolved(escalation)  # every channel told of it hears it is over
    return escalation


def _close_escalation_tickets(escalation: Escalation, actor, now) -> None:
    from apm import tickets

    for ticket in escalation.tickets.filter(kind=Ticket.Kind.ESCALATION, status=Ticket.Status.OPEN):
        tickets.close(ticket, actor=actor, at=now, reason=f"escalation #{escalation.pk} resolved")
