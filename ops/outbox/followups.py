"""Which channels hear the follow-ups of something they were told about.

An escalation's reminders and "resolved" notice (``apm.notices``, ``apm.reminders``)
and an incident's repeated pages and "resolved" notice (``ops.playbook.repeats``)
go to the channels that were sent its announcements: the outbox rows of its source
(topic and id), follow-ups themselves left out, channels whose notification gave up
left out (they never heard of it), and kinds that take no follow-ups (a ``ticket``
closes by itself) left out.
"""

from __future__ import annotations

from ops.channels import registry
from ops.models import Channel, Notification


def takes_follow_ups(channel: Channel) -> bool:
    return kind_takes_follow_ups(channel.kind)


def kind_takes_follow_ups(kind_name: str) -> bool:
    """``takes_follow_ups`` of a channel of that kind (no instance needed)."""
    kind = registry.get(kind_name)
    return kind is not None and kind.takes_follow_ups


def told_channels(source_topic: str, source_id, follow_up_events) -> list[Channel]:
    """The channels sent (or still sending) the source's announcements, in first-told order,
    each once; rows whose ``payload["event"]`` is one of ``follow_up_events`` do not count."""
    rows = (
        Notification.objects.filter(source_topic=source_topic, source_id=str(source_id))
        .exclude(status=Notification.Status.FAILED)
        .select_related("channel")
        .order_by("pk")
    )
    channels: dict[int, Channel] = {}
    for row in rows:
        if (row.payload or {}).get("event") in follow_up_events:
            continue
        if takes_follow_ups(row.channel):
            channels.setdefault(row.channel_id, row.channel)
    return list(channels.values())
