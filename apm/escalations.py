"""Escalation state changes: open/update from the watchdog, ``send`` by hand, acknowledge, resolve.

Every function is atomic, writes an ``apm.escalation`` audit entry per change
and announces through the outbox (``ops.outbox.enqueue``), which dispatches
after commit. The rules are in docs/ESCALATIONS.md.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apm import escalation_rules as rules
from apm import escalation_statements as statements
from apm.models import Baseline, Deviation, Escalation, EscalationRoute, Ticket
from apm.models.escalation import Level, level_rank
from ops import audit, outbox

TOPIC = "apm.escalation"
WATCHDOG = "watchdog"
MESSAGE_MAX = 2000


def _audit(escalation: Escalation, change: str, actor=None, **extra) -> None:
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


def _lock_open(baseline_id: int, *, baseline: Baseline | None = None) -> Escalation | None:
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


def _create(escalation: Escalation) -> Escalation | None:
    """Insert in a savepoint; ``None`` when a concurrent writer opened one first."""
    try:
        with transaction.atomic():
            escalation.save()
    except IntegrityError:
        return None
    return escalation


# --- the watchdog's decision -----------------------------------------------------


def on_deviation(deviation: Deviation) -> Escalation | None:
    """The whole escalation decision for one watchdog run: open, count, raise, resolve.

    ``deviation`` is the run's ledger row, saved (in the caller's transaction)
    or not yet (``run_baseline``): an unsaved one is recorded here
    (``Deviation.record``), in the same transaction as the escalation change it
    causes, or alone in autocommit when it causes none. When another delivery
    of the same cron slot recorded first, nothing is decided again
    (``deviation.pk`` stays ``None``).

    - backfill (a past-dated API run): recorded, nothing else; it never opens,
      counts, raises or resolves;
    - red (breach, no data, error): open an escalation, or count the run on the
      open one (one UPDATE, not audited: the ledger row holds the run), raising
      its level when the run's is higher;
    - ok: resolve the open one automatically; with nothing open (the usual
      case) the run is one read and the INSERT.
    Within tolerance but worse than the target (info/warning) opens nothing.

    Returns the escalation it opened, raised, updated or resolved; ``None`` when
    no escalation state changed.
    """
    backfill = deviation.trigger == Deviation.Trigger.BACKFILL
    ok = deviation.status == Deviation.Status.OK
    if backfill or not (rules.is_red(deviation.status) or ok):
        _recorded(deviation)  # rules.decide: a backfill (or a run that is neither) decides nothing
        return None
    if ok and not statements.is_open(deviation.baseline_id):
        _recorded(deviation)
        return None
    with transaction.atomic():
        if not _recorded(deviation):
            return None  # the slot's first delivery decided
        if ok:
            return _resolve_on_ok(deviation)
        return _on_red(deviation)


def _recorded(deviation: Deviation) -> bool:
    return deviation.pk is not None or deviation.record()


def _resolve_on_ok(deviation: Deviation) -> Escalation | None:
    baseline = deviation.baseline
    escalation = _lock_open(baseline.pk, baseline=baseline)
    if escalation is not None:
        note = (
            f"Resolved automatically: {baseline.name} back to ok at "
            f"{deviation.evaluated_at:%Y-%m-%d %H:%M} UTC "
            f"({deviation.deviation_pct:+.1f} %, deviation #{deviation.pk})."
        )
        _resolve(escalation, actor=WATCHDOG, note=note, auto=True, deviation=deviation)
    return escalation


def _on_red(deviation: Deviation) -> Escalation | None:
    baseline = deviation.baseline
    level = rules.red_level(deviation.deviation_pct, baseline.threshold_pct)
    if statements.count_repeat(deviation, level):
        return None  # rules.decide's COUNT, as one conditional UPDATE
    escalation = _lock_open(baseline.pk, baseline=baseline)
    if escalation is None:
        escalation = _create(
            Escalation(
                baseline=baseline,
                level=level,
                message=describe(deviation),
                source=Escalation.Source.WATCHDOG,
                opened_at=timezone.now(),
                red_since=deviation.evaluated_at,
                deviation=deviation,
                breach_count=1,
                last_red_at=deviation.evaluated_at,
            )
        )
        if escalation is not None:
            _audit(escalation, "opened")
            announce(escalation)
            return escalation
        escalation = _lock_open(baseline.pk, baseline=baseline)
    decision = rules.decide(
        open_level=escalation.level,
        status=deviation.status,
        deviation_pct=deviation.deviation_pct,
        threshold_pct=baseline.threshold_pct,
    )
    raised = decision.action == rules.RAISE
    escalation.deviation = deviation
    escalation.breach_count += 1
    escalation.last_red_at = deviation.evaluated_at
    if raised:
        escalation.level = decision.level
        escalation.message = describe(deviation)
    escalation.save()
    _audit(escalation, "raised" if raised else "updated", breach_count=escalation.breach_count)
    if decision.announces:
        announce(escalation)
    return escalation


def send(
    baseline: Baseline, message: str, level: str = Level.CRITICAL, *, actor=None
) -> tuple[Escalation, bool]:
    """The seed's ``Escalate.send``: open an escalation by hand; ``(escalation, created)``.

    With an escalation already open for the baseline, it takes the new message
    and (only ever upwards) the level; routes hear of it when it opens or its
    level rises, not again for the same level.
    """
    message = (message or "").strip()
    errors = {}
    if not message:
        errors["message"] = "An escalation needs a message."
    elif len(message) > MESSAGE_MAX:
        errors["message"] = f"At most {MESSAGE_MAX} characters."
    if level not in Level.values:
        errors["level"] = f"{level!r} is not one of {', '.join(Level.values)}."
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        escalation = _lock_open(baseline.pk)
        if escalation is None:
            latest = baseline.deviations.live().order_by("-evaluated_at", "-id").first()
            red = latest is not None and latest.status != Deviation.Status.OK
            escalation = _create(
                Escalation(
                    baseline=baseline,
                    level=level,
                    message=message,
                    source=Escalation.Source.MANUAL,
                    opened_at=timezone.now(),
                    red_since=latest.evaluated_at if red else timezone.now(),
                    deviation=latest if red else None,
                    last_red_at=latest.evaluated_at if red else None,
                )
            )
            if escalation is not None:
                _audit(escalation, "opened", actor)
                announce(escalation)
                return escalation, True
            escalation = _lock_open(baseline.pk)
        raised = level_rank(level) > level_rank(escalation.level)
        escalation.message = message
        if raised:
            escalation.level = level
        escalation.save()
        _audit(escalation, "raised" if raised else "updated", actor)
        if raised:
            announce(escalation)
    return escalation, False


class NotOpen(ValueError):
    """The escalation is already resolved."""


def acknowledge(escalation: Escalation, *, actor, note: str = "") -> Escalation:
    """Someone is on it: ``open`` -> ``acknowledged`` (still open for the constraint)."""
    with transaction.atomic():
        current = _lock_open(escalation.baseline_id)
        if current is None or current.pk != escalation.pk:
            raise NotOpen("This escalation is already resolved.")
        escalation = current
        if escalation.status == Escalation.Status.OPEN:
            escalation.status = Escalation.Status.ACKNOWLEDGED
            escalation.acknowledged_by = actor
            escalation.acknowledged_at = timezone.now()
        if note.strip():
            escalation.note = _append(escalation.note, note)
        escalation.save()
        _audit(escalation, "acknowledged", actor, note=note.strip())
    return escalation


def resolve(escalation: Escalation, *, actor, note: str = "") -> Escalation:
    """A person resolved it: the fix that stops the leadership-review clock."""
    with transaction.atomic():
        current = _lock_open(escalation.baseline_id)
        if current is None or current.pk != escalation.pk:
            raise NotOpen("This escalation is already resolved.")
        return _resolve(current, actor=actor, note=note, auto=False)


def _append(existing: str, note: str) -> str:
    return f"{existing}\n{note.strip()}" if existing else note.strip()


def _resolve(escalation: Escalation, *, actor, note: str, auto: bool, deviation=None):
    now = timezone.now()
    escalation.status = Escalation.Status.RESOLVED
    escalation.resolved_at = now
    escalation.resolved_by = None if auto or isinstance(actor, str) else actor
    escalation.auto_resolved = auto
    if note.strip():
        escalation.note = _append(escalation.note, note)
    escalation.save()
    _audit(
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
