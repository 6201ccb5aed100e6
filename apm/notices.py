"""Follow-up messages about an escalation: "resolved" notices, and the wording they share.

``announce_resolved`` runs in the resolving transaction (``escalation_core.resolve_now``):
one outbox row per channel that was told about the escalation (its opening or
a raised level), saying how long it was red. Channels whose kind does not take
follow-ups (a ``ticket`` closes by itself) are left out, and so are channels
whose notification gave up (they never heard of it).
"""

from __future__ import annotations

from ops import outbox
from ops.clock import human_duration as human
from ops.models import Notification

TOPIC = "apm.escalation"  # the escalation's own topic: its messages list together
FOLLOW_UP_EVENTS = ("reminder", "resolved")


def subject_of(escalation, tag: str = "") -> str:
    baseline = escalation.baseline
    prefix = f"[{tag}] " if tag else ""
    return f"{prefix}[{escalation.level.upper()}] {baseline.program.code} / {baseline.name}"


takes_follow_ups = outbox.takes_follow_ups
kind_takes_follow_ups = outbox.kind_takes_follow_ups


def told_channels(escalation) -> list:
    """Channels that were sent (or are still sending) the escalation's announcements."""
    return outbox.told_channels(TOPIC, escalation.pk, FOLLOW_UP_EVENTS)


def announce_resolved(escalation) -> list[Notification]:
    """Queue one "resolved" message per told channel; enqueuing twice sends nothing new.

    Nothing inside a maintenance window of the baseline (or its program)."""
    from apm import maintenance

    if maintenance.baseline_in_maintenance(escalation.baseline, escalation.resolved_at):
        return []
    red_for = escalation.resolved_at - escalation.red_since
    how = "automatically: back to ok" if escalation.auto_resolved else "by hand"
    subject = subject_of(escalation, "RESOLVED")
    text = f"Resolved ({how}) after {human(red_for)} red."
    payload = {
        "event": "resolved",
        "escalation": escalation.pk,
        "baseline": escalation.baseline_id,
        "program": escalation.baseline.program.code,
        "level": escalation.level,
        "red_since": escalation.red_since,
        "resolved_at": escalation.resolved_at,
        "red_seconds": int(red_for.total_seconds()),
        "auto_resolved": escalation.auto_resolved,
    }
    return [
        outbox.enqueue(
            channel,
            text,
            subject=subject,
            dedupe_key=f"{TOPIC}:{escalation.pk}:resolved:channel-{channel.pk}",
            payload=payload,
            source_topic=TOPIC,
            source_id=str(escalation.pk),
        )
        for channel in told_channels(escalation)
    ]
