"""Repeated pages (``page … repeat: 30 min``) and the "resolved" notice of an incident.

While an incident is open, each of its sent ``page`` runs with a ``repeat``
pages its channel again every ``repeat`` seconds. The due times are
``PageRepeat`` rows, planned and sent by the beat task
``ops.tasks.repeat_pages`` (``sweep``); each repeat is claimed by a
conditional UPDATE and written to the outbox in the same transaction, under
a dedupe key per repeat number, so a restarted worker loses none and a
double delivery pages once.

``announce_resolved`` (called by ``resolve_incident`` in its transaction)
tells each channel the incident paged that it is over, once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction

from ops import audit, clock, outbox
from ops.clock import human_duration
from ops.models import ActionRun, Channel, Incident, Notification, PageRepeat
from ops.playbook.executors import ACTOR, AUDIT_TOPIC, incident_summary

FOLLOW_UP_EVENTS = ("repeat", "resolved")


def plan(now: datetime) -> int:
    runs = ActionRun.objects.filter(
        action="page",
        status=ActionRun.Status.SUCCEEDED,
        incident__state=Incident.State.OPEN,
        page_repeat__isnull=True,
        arguments__repeat__gt=0,
    ).values_list("pk", "finished_at", "arguments")
    rows = [
        PageRepeat(run_id=pk, next_at=(finished or now) + timedelta(seconds=args["repeat"]))
        for pk, finished, args in runs
    ]
    return len(PageRepeat.objects.bulk_create(rows, ignore_conflicts=True))


def _due(now: datetime):
    return PageRepeat.objects.filter(next_at__lte=now, run__incident__state=Incident.State.OPEN)


def sweep(now: datetime | None = None, limit: int = 500) -> dict:
    now = now or clock.now()
    planned = plan(now)
    paged = 0
    for pk in list(_due(now).order_by("next_at").values_list("pk", flat=True)[:limit]):
        paged += send_one(pk, now) is not None
    return {"planned": planned, "repeated": paged}


def send_one(repeat_id: int, now: datetime):
    """Claim the repeat if still due and queue its page; the row, or ``None``."""
    with transaction.atomic():
        claimable = _due(now).filter(pk=repeat_id)
        repeat = claimable.select_related("run__incident__slo").first()
        if repeat is None:
            return None
        run, incident = repeat.run, repeat.run.incident
        arguments = run.arguments
        channel = Channel.objects.filter(name=arguments.get("channel", "")).first()
        if channel is None:
            return None
        number = repeat.sent + 1
        won = claimable.filter(sent=repeat.sent, next_at=repeat.next_at).update(
            sent=number,
            next_at=now + timedelta(seconds=arguments["repeat"]),
            last_sent_at=now,
        )
        if not won:
            return None
        severity = arguments.get("severity", "critical")
        text = (
            f"[{severity}] still open after {human_duration(now - incident.opened_at)}: "
            f"{arguments.get('message') or incident_summary(incident)} (repeat {number})"
        )
        outbox.enqueue(
            channel,
            text,
            dedupe_key=f"{AUDIT_TOPIC}:{incident.pk}:run:{run.pk}:repeat-{number}",
            subject=f"{severity}: {incident.service_id}",
            payload={
                "incident": incident.pk,
                "severity": severity,
                "event": "repeat",
                "repeat": number,
            },
            source_topic=AUDIT_TOPIC,
            source_id=str(incident.pk),
        )
        audit.record(
            AUDIT_TOPIC,
            {
                "event": "page repeated",
                "incident": incident.pk,
                "service": incident.service_id,
                "run": run.pk,
                "channel": channel.name,
                "repeat": number,
            },
            actor=ACTOR,
        )
    return repeat


def paged_channels(incident: Incident) -> list[Channel]:
    """Channels the incident's pages went to (and that take follow-ups)."""
    return outbox.told_channels(AUDIT_TOPIC, incident.pk, FOLLOW_UP_EVENTS)


def announce_resolved(incident: Incident) -> list[Notification]:
    """One "resolved" message per channel the incident paged (in the resolving transaction)."""
    how = (
        "recovered"
        if incident.resolved_by == "slo-evaluator"
        else (f"resolved by {incident.resolved_by or 'hand'}")
    )
    took = human_duration(incident.resolved_at - incident.opened_at)
    text = f"[resolved] {incident.service_id}: {how} after {took} (incident #{incident.pk})."
    return [
        outbox.enqueue(
            channel,
            text,
            dedupe_key=f"{AUDIT_TOPIC}:{incident.pk}:resolved:channel-{channel.pk}",
            subject=f"resolved: {incident.service_id}",
            payload={
                "incident": incident.pk,
                "event": "resolved",
                "open_seconds": int((incident.resolved_at - incident.opened_at).total_seconds()),
            },
            source_topic=AUDIT_TOPIC,
            source_id=str(incident.pk),
        )
        for channel in paged_channels(incident)
    ]
