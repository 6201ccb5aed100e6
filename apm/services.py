"""APM state changes, as plain functions (the admin, API, tasks and commands call these)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone

from apm import cron, escalations
from apm.models import Baseline, Deviation
from apm.probes import ProbeError, Reading, probe_for

log = logging.getLogger(__name__)

FULL_DEVIATION = 100.0  # seed pitfall 1: no data (or a failed probe) counts as 100 %


def run_baseline(
    baseline: Baseline,
    *,
    at: datetime | None = None,
    slot: datetime | None = None,
    trigger: str = Deviation.Trigger.API,
) -> Deviation:
    """Probe ``baseline`` (at ``at``, default now), record and return its deviation.

    ``slot`` is the cron slot of a scheduled run: a second delivery for the same
    slot returns the first run's deviation instead of recording another. The
    probe runs outside any transaction (it may be a network call).
    """
    if slot is not None:
        existing = Deviation.objects.filter(baseline=baseline, slot=slot).first()
        if existing:
            return existing
    evaluated_at = at or timezone.now()
    try:
        reading = probe_for(baseline.probe_kind).measure(baseline.probe_query, evaluated_at)
        error = ""
    except ProbeError as exc:
        reading, error = Reading(None), str(exc)
    deviation = _deviation(baseline, reading, error, evaluated_at, slot, trigger)
    if not escalations.affects(deviation):
        # Ok, and nothing open to resolve: the ledger row is the whole write.
        return _logged(_record(deviation))
    # The deviation and its escalation change commit together (notifications
    # are outbox rows in the same transaction, dispatched after commit).
    with transaction.atomic():
        recorded = _record(deviation)
        if recorded is deviation:  # else another delivery of the slot escalated
            escalations.on_deviation(deviation)
    return _logged(recorded)


def _record(deviation: Deviation) -> Deviation:
    """INSERT the ledger row; for a scheduled run, the row of whichever delivery of its
    slot got there first (a second delivery records nothing)."""
    if deviation.slot is None:
        deviation.save()  # nothing to race with: only slots are unique
        return deviation
    try:
        # A savepoint inside the hook's transaction, so a lost race leaves it usable.
        with transaction.atomic():
            deviation.save()
    except IntegrityError:
        return Deviation.objects.get(baseline_id=deviation.baseline_id, slot=deviation.slot)
    return deviation


def _logged(deviation: Deviation) -> Deviation:
    log.info(
        "baseline %s: %s actual=%s deviation=%.2f%%",
        deviation.baseline_id,
        deviation.status,
        deviation.actual,
        deviation.deviation_pct,
    )
    return deviation


def _deviation(baseline, reading: Reading, error, evaluated_at, slot, trigger) -> Deviation:
    evidence = {
        "probe_kind": str(baseline.probe_kind),
        "query": baseline.probe_query,
        "raw_result": reading.raw,
        "target": baseline.target_value,
        "operator": str(baseline.compare_op),
        "threshold_pct": baseline.threshold_pct,
        "formula": baseline.formula,
    }
    if error:
        status, pct = Deviation.Status.ERROR, FULL_DEVIATION
        evidence["error"] = error
    elif reading.value is None:
        status, pct = Deviation.Status.NO_DATA, FULL_DEVIATION
        evidence["error"] = reading.reason
    else:
        pct = baseline.deviation_pct(reading.value)
        status = Deviation.Status.BREACH if pct > baseline.threshold_pct else Deviation.Status.OK
        evidence["computation"] = (
            baseline.formula.replace("actual", f"{reading.value:g}").replace(
                "target", f"{baseline.target_value:g}", 2
            )
            + f" = {pct:g}"
        )
    if status in (Deviation.Status.ERROR, Deviation.Status.NO_DATA):
        evidence["formula"] = f"{FULL_DEVIATION:g} (no measurement: counts as full deviation)"
    return Deviation(
        baseline=baseline,
        evaluated_at=evaluated_at,
        actual=reading.value,
        deviation_pct=pct,
        status=status,
        evidence=evidence,
        trigger=trigger,
        slot=slot,
    )


def scheduled_slot(baseline: Baseline, now: datetime | None = None) -> datetime:
    """The cron slot a scheduled delivery belongs to: the latest fire time at or before now."""
    return cron.previous(baseline.schedule, now or timezone.now())


def run_scheduled(baseline_id: int, now: datetime | None = None) -> Deviation | None:
    """What beat's periodic task does; ``None`` when the baseline is gone or inactive."""
    baseline = Baseline.objects.select_related("program").filter(pk=baseline_id).first()
    if baseline is None or not baseline.active:
        return None
    now = now or timezone.now()
    return run_baseline(
        baseline, slot=scheduled_slot(baseline, now), trigger=Deviation.Trigger.SCHEDULE
    )


def run_all(
    baselines=None, *, at: datetime | None = None, trigger: str = Deviation.Trigger.COMMAND
) -> list[Deviation]:
    """Run every given (default: every active) baseline once: the seed's ``run_once()``."""
    if baselines is None:
        baselines = Baseline.objects.filter(active=True).select_related("program").order_by("pk")
    return [run_baseline(b, at=at, trigger=trigger) for b in baselines]
