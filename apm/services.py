"""APM state changes, as plain functions (the admin, API, tasks and commands call these)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from celery import current_app
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from kombu.exceptions import OperationalError

from apm import cron, escalations, quality
from apm.models import Baseline, Deviation
from apm.probes import ProbeError, Reading, probe_for

log = logging.getLogger(__name__)

FULL_DEVIATION = 100.0  # seed pitfall 1: no data (or a failed probe) counts as 100 %
# Nothing a probe reads is older than the Unix epoch (Prometheus' timestamps start there).
EARLIEST_RUN = datetime(1970, 1, 1, tzinfo=UTC)
RUN_TASK = "apm.tasks.run_baseline"  # sent by name: services never import tasks


def dated_run(at: datetime | None, now: datetime | None = None) -> tuple[datetime | None, bool]:
    """Where a run asked for at ``at`` lands: ``(evaluate at, is a backfill)``.

    The API's rule for ``baselines/{id}/run/`` (docs/ESCALATIONS.md, "Dated runs"),
    with ``HMS_CLOCK_SKEW_SECONDS`` as the tolerance for a caller's clock:

    - ``None``, or ahead by at most the skew: now (a caller whose clock runs fast
      means our now), so no live run is ever stored with a future time and none
      can stay "latest" over the runs after it;
    - more than the skew ahead, or before 1970, or without a time zone:
      ``ValidationError`` naming ``at``;
    - older than the skew: a backfill, which the ledger keeps and nothing else reads.
    """
    now = now or timezone.now()
    if at is None:
        return None, False
    if at.tzinfo is None:
        raise ValidationError({"at": "give a time zone (e.g. 2026-01-01T02:00:00Z)"})
    skew = timedelta(seconds=settings.HMS_CLOCK_SKEW_SECONDS)
    if at > now + skew:
        raise ValidationError(
            {"at": f"more than {skew.total_seconds():g} s in the future (HMS_CLOCK_SKEW_SECONDS)"}
        )
    if at < EARLIEST_RUN:
        raise ValidationError({"at": "must be after 1970-01-01T00:00:00Z"})
    if at >= now - skew:
        return min(at, now), False
    return at, True


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
    reading, error = measure(baseline, evaluated_at)
    deviation = evaluate(baseline, reading, error, evaluated_at, slot, trigger)
    # Records the ledger row (in_maintenance as the windows say), in one transaction with
    # the escalation change it causes.
    escalations.on_deviation(deviation)
    if deviation.pk is None:  # another delivery of the slot recorded (and escalated) first
        deviation = Deviation.objects.get(baseline_id=baseline.pk, slot=slot)
    return _logged(deviation)


def measure(baseline: Baseline, at: datetime, window=None) -> tuple[Reading, str]:
    """The probe's reading at ``at`` and the error text ("" when it measured).

    A calendar-period baseline covers its period to date (``window``, default
    ``baseline.period_window(at)``); a rolling one its query's own window. The reading
    carries its sample count; when ``min_samples`` is above 1 a PromQL probe asks its
    count query (or companion) over the same span in the same request (docs/VERDICTS.md).
    """
    window = window or baseline.period_window(at)
    try:
        probe = probe_for(baseline.probe_kind)
        if baseline.min_samples > 1:  # the count rides in the same request (PromQL)
            count_query = baseline.count_query
            return probe.measure_counting(baseline.probe_query, count_query, at, window), ""
        return probe.measure(baseline.probe_query, at, window), ""
    except ProbeError as exc:
        return Reading(None), str(exc)


def _quality(baseline: Baseline, reading: Reading) -> dict:
    """The data-quality fields of a deviation (docs/VERDICTS.md)."""
    count, expected = reading.sample_count, reading.expected
    counted = "samples not counted" if count is None else f"{count} sample(s)"
    if baseline.probe_kind == Baseline.ProbeKind.SQL and count is not None:
        counted = f"{count} row(s)"
    return {
        "sample_count": count,
        "newest_sample_at": reading.newest_at,
        "completeness": quality.completeness(count, expected),
        "source": f"{baseline.probe_kind}: {counted} read by {baseline.probe_query}"[:500],
    }


def _logged(deviation: Deviation) -> Deviation:
    log.info(
        "baseline %s: %s actual=%s deviation=%.2f%%",
        deviation.baseline_id,
        deviation.status,
        deviation.actual,
        deviation.deviation_pct,
    )
    return deviation


def verdict(baseline, reading: Reading, error: str) -> tuple[str, float]:
    """``(status, deviation_pct)`` of one reading: the watchdog's rule, which the backtest
    applies to each of its points too (seed pitfall 1: no measurement is 100 %)."""
    if error:
        return Deviation.Status.ERROR, FULL_DEVIATION
    if reading.value is None or reading.sample_count == 0:  # a value from no samples: no data
        return Deviation.Status.NO_DATA, FULL_DEVIATION
    pct = baseline.deviation_pct(reading.value)
    count = reading.sample_count
    if count is not None and count < baseline.min_samples:  # never red, never green
        return Deviation.Status.INSUFFICIENT_DATA, pct
    return (Deviation.Status.BREACH if pct > baseline.threshold_pct else Deviation.Status.OK), pct


def evaluate(
    baseline, reading: Reading, error: str, evaluated_at, slot=None, trigger=Deviation.Trigger.API
) -> Deviation:
    """The run's verdict (``verdict``) with its evidence, as an unsaved ``Deviation``."""
    evidence = {
        "probe_kind": str(baseline.probe_kind),
        "query": baseline.probe_query,
        "raw_result": reading.raw,
        "target": baseline.target_value,
        "operator": str(baseline.compare_op),
        "threshold_pct": baseline.threshold_pct,
        "formula": baseline.formula,
    }
    status, pct = verdict(baseline, reading, error)
    if error:
        evidence["error"] = error
    elif reading.value is None:
        evidence["error"] = reading.reason
    elif reading.sample_count == 0:  # a value from no samples (e.g. count or sum) is no data
        evidence["error"] = reading.reason or "no samples in the window"
    else:
        if status == Deviation.Status.INSUFFICIENT_DATA:
            evidence["insufficient_data"] = (
                f"{reading.sample_count} sample(s), the baseline needs {baseline.min_samples}: "
                "not judged red or green"
            )
        evidence["computation"] = (
            baseline.formula.replace("actual", f"{reading.value:g}").replace(
                "target", f"{baseline.target_value:g}", 2
            )
            + f" = {pct:g}"
        )
    if status in (Deviation.Status.ERROR, Deviation.Status.NO_DATA):
        evidence["formula"] = f"{FULL_DEVIATION:g} (no measurement: counts as full deviation)"
    quality = _quality(baseline, reading)
    # Positional, as the ORM builds a loaded row (``Model.from_db``): the same instance as
    # the keyword form's (the defaults below are the fields'; ``_FIELD_ORDER`` is checked).
    deviation = Deviation(
        None,  # id
        None,  # baseline_id: set with the baseline below, as ``baseline=`` would
        evaluated_at,
        reading.value,
        pct,
        status,
        evidence,
        trigger,
        slot,
        _RECORDED_AT_DEFAULT,
        quality["sample_count"],
        quality["newest_sample_at"],
        quality["completeness"],
        quality["source"],
        _IN_MAINTENANCE_DEFAULT,
    )
    deviation.baseline = baseline  # the descriptor: the id, the cache, the router's db
    return deviation


_FIELD_ORDER = ("id", "baseline_id", "evaluated_at", "actual", "deviation_pct", "status",
                "evidence", "trigger", "slot", "recorded_at", "sample_count",
                "newest_sample_at", "completeness", "source", "in_maintenance")  # fmt: skip
if tuple(f.attname for f in Deviation._meta.concrete_fields) != _FIELD_ORDER:
    raise ImproperlyConfigured("apm.services.evaluate: Deviation's fields are not in _FIELD_ORDER")
_RECORDED_AT_DEFAULT = Deviation._meta.get_field("recorded_at").get_default()
_IN_MAINTENANCE_DEFAULT = Deviation._meta.get_field("in_maintenance").get_default()


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


class QueueUnavailable(RuntimeError):
    """The broker refused the runs: nothing was queued that the user was told about."""


def queue_runs(baselines, *, trigger: str) -> list[int]:
    """Hand a run of each baseline to the worker (``RUN_TASK``, sent by name); their ids.

    The admin's "Run now" on several baselines and the API's bulk run: probes
    never run inside a web request for more than one baseline. Every message
    carries the moment the runs were asked for as its slot, so a redelivered
    message (``acks_late``) returns the first delivery's deviation instead of
    recording another. Nothing is written here, so there is no commit to wait
    for: the messages go at once, and a broker error reaches the caller as
    ``QueueUnavailable`` (shown to the user), never a silently lost run.
    """
    requested = timezone.now()
    if requested.second == 0 and requested.microsecond == 0:
        requested += timedelta(microseconds=1)  # a cron slot is a whole minute: never one
    ids = [b.pk for b in baselines]
    for sent, pk in enumerate(ids):
        try:
            current_app.send_task(RUN_TASK, args=(pk, str(trigger), requested.isoformat()))
        except OperationalError as exc:
            raise QueueUnavailable(
                f"the task queue is unavailable ({sent} of {len(ids)} runs queued): {exc}"
            ) from exc
    return ids


def run_queued(baseline_id: int, trigger: str, requested_at: str) -> Deviation | None:
    """A queued run, in the worker; ``None`` when the baseline is gone."""
    baseline = Baseline.objects.select_related("program").filter(pk=baseline_id).first()
    if baseline is None:
        return None
    return run_baseline(
        baseline, slot=parse_datetime(requested_at), trigger=Deviation.Trigger(trigger)
    )
