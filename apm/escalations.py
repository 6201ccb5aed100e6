"""Escalation state changes: open/update from the watchdog, ``send`` by hand, acknowledge, resolve.

Every function is atomic, writes an ``apm.escalation`` audit entry per change
and announces through the outbox (``ops.outbox.enqueue``), which dispatches
after commit. The rules are in docs/ESCALATIONS.md.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apm import escalation_rules as rules
from apm import escalation_statements as statements
from apm import maintenance, steady_runs
from apm.escalation_core import (
    TOPIC,
    WATCHDOG,
    NotOpen,
    announce,
    append_note,
    audit_change,
    create_open,
    describe,
    lock_open,
    resolve_now,
    routes_for,
)
from apm.models import Baseline, Deviation, Escalation
from apm.models.escalation import Level, level_rank

MESSAGE_MAX = 2000
__all__ = ["TOPIC", "WATCHDOG", "NotOpen", "announce", "describe", "routes_for"]


# --- the watchdog's decision -----------------------------------------------------


def on_deviation(deviation: Deviation) -> Escalation | None:
    """The whole escalation decision for one watchdog run: open, count, raise, resolve.

    ``deviation`` is the run's ledger row, saved (in the caller's transaction)
    or not yet (``run_baseline``): an unsaved one is recorded here
    (``Deviation.record``), in the same transaction as the escalation change it
    causes, or alone in autocommit when it causes none, with ``in_maintenance``
    as the maintenance windows say at its ``evaluated_at`` (asked inside the
    decision's own statements, ``apm.escalation_statements``); a saved one keeps
    the ``in_maintenance`` it was saved with. When another delivery of the same
    cron slot recorded first, nothing is decided again (``deviation.pk`` stays
    ``None``).

    - backfill (a past-dated API run), ``insufficient_data`` (fewer samples than
      ``min_samples``) or a run inside a maintenance window: recorded, nothing
      else; it never opens, counts, raises or resolves (docs/VERDICTS.md);
    - red (breach, no data, error): open an escalation, or count the run on the
      open one (one UPDATE, not audited: the ledger row holds the run), raising
      its level when the run's is higher;
    - ok: resolve the open one automatically; with nothing open (the usual
      case) the run is one read and the INSERT.
    Within tolerance but worse than the target (info/warning) opens nothing.

    Returns the escalation it opened, raised, updated or resolved; ``None`` when
    no escalation state changed.
    """
    fresh = deviation.pk is None  # its maintenance question is still to be asked
    backfill = deviation.trigger == Deviation.Trigger.BACKFILL
    ok = deviation.status == Deviation.Status.OK
    red = rules.is_red(deviation.status)
    if backfill or deviation.status == Deviation.Status.INSUFFICIENT_DATA or not (red or ok):
        if fresh and not deviation.in_maintenance:
            deviation.in_maintenance = _in_maintenance(deviation)
        _recorded(deviation)  # rules.decide: a backfill (or a run that is neither) decides nothing
        return None
    if deviation.in_maintenance:
        _recorded(deviation)
        return None
    if fresh and steady_runs.usable(deviation):  # PostgreSQL: a steady run is one statement
        level = (
            None
            if ok
            else rules.red_level(deviation.deviation_pct, deviation.baseline.threshold_pct)
        )
        if steady_runs.record_if_steady(deviation, level):
            return None  # recorded, nothing to decide (or the slot's first delivery decided)
    if ok:
        return _on_ok(deviation, fresh)
    with transaction.atomic():
        if not _recorded(deviation):
            return None  # the slot's first delivery decided
        return _on_red(deviation, fresh)


def _in_maintenance(deviation: Deviation) -> bool:
    return maintenance.baseline_in_maintenance(deviation.baseline, deviation.evaluated_at)


def _recorded(deviation: Deviation) -> bool:
    return deviation.pk is not None or deviation.record()


def _on_ok(deviation: Deviation, fresh: bool) -> Escalation | None:
    if fresh:
        is_open, may_pause = statements.open_and_paused(deviation)  # one read for both
        if may_pause:  # a window may cover the run: ask exactly (a weekly one's repeats)
            deviation.in_maintenance = _in_maintenance(deviation)
    else:
        is_open = statements.is_open(deviation.baseline_id)
    if not is_open or deviation.in_maintenance:
        _recorded(deviation)
        return None
    with transaction.atomic():
        if not _recorded(deviation):
            return None  # the slot's first delivery decided
        return _resolve_on_ok(deviation)


def _resolve_on_ok(deviation: Deviation) -> Escalation | None:
    baseline = deviation.baseline
    escalation = lock_open(baseline.pk, baseline=baseline)
    if escalation is not None:
        note = (
            f"Resolved automatically: {baseline.name} back to ok at "
            f"{deviation.evaluated_at:%Y-%m-%d %H:%M} UTC "
            f"({deviation.deviation_pct:+.1f} %, deviation #{deviation.pk})."
        )
        resolve_now(escalation, actor=WATCHDOG, note=note, auto=True, deviation=deviation)
    return escalation


def _on_red(deviation: Deviation, fresh: bool) -> Escalation | None:
    """Inside the run's transaction, its ledger row just inserted. A fresh run's row says
    "not in maintenance" until the windows say otherwise: the COUNT's UPDATE holds only
    when no window may cover the run, and when one may, the exact answer is asked and
    the row corrected before anything else is decided (one transaction: no reader sees
    the row before)."""
    baseline = deviation.baseline
    level = rules.red_level(deviation.deviation_pct, baseline.threshold_pct)
    if statements.count_repeat(deviation, level, unless_paused=fresh):
        return None  # rules.decide's COUNT, as one conditional UPDATE
    if fresh:
        near = maintenance.windows_near(baseline, deviation.evaluated_at)
        if any(w.covers(deviation.evaluated_at) for w in near):
            deviation.in_maintenance = True
            Deviation.objects.filter(pk=deviation.pk).update(in_maintenance=True)
            return None
        if near and statements.count_repeat(deviation, level):  # only a window stopped it
            return None
    escalation = lock_open(baseline.pk, baseline=baseline)
    if escalation is None:
        escalation = create_open(
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
            audit_change(escalation, "opened")
            announce(escalation)
            return escalation
        escalation = lock_open(baseline.pk, baseline=baseline)
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
    audit_change(
        escalation, "raised" if raised else "updated", breach_count=escalation.breach_count
    )
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
        escalation = lock_open(baseline.pk)
        if escalation is None:
            latest = baseline.deviations.live().order_by("-evaluated_at", "-id").first()
            red = latest is not None and latest.status != Deviation.Status.OK
            escalation = create_open(
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
                audit_change(escalation, "opened", actor)
                announce(escalation)
                return escalation, True
            escalation = lock_open(baseline.pk)
        raised = level_rank(level) > level_rank(escalation.level)
        escalation.message = message
        if raised:
            escalation.level = level
        escalation.save()
        audit_change(escalation, "raised" if raised else "updated", actor)
        if raised:
            announce(escalation)
    return escalation, False


def acknowledge(escalation: Escalation, *, actor, note: str = "") -> Escalation:
    """Someone is on it: ``open`` -> ``acknowledged`` (still open for the constraint)."""
    with transaction.atomic():
        current = lock_open(escalation.baseline_id)
        if current is None or current.pk != escalation.pk:
            raise NotOpen("This escalation is already resolved.")
        escalation = current
        if escalation.status == Escalation.Status.OPEN:
            escalation.status = Escalation.Status.ACKNOWLEDGED
            escalation.acknowledged_by = actor
            escalation.acknowledged_at = timezone.now()
        if note.strip():
            escalation.note = append_note(escalation.note, note)
        escalation.save()
        audit_change(escalation, "acknowledged", actor, note=note.strip())
    return escalation


def resolve(escalation: Escalation, *, actor, note: str = "") -> Escalation:
    """A person resolved it: the fix that stops the leadership-review clock."""
    with transaction.atomic():
        current = lock_open(escalation.baseline_id)
        if current is None or current.pk != escalation.pk:
            raise NotOpen("This escalation is already resolved.")
        return resolve_now(current, actor=actor, note=note, auto=False)
