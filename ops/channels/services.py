"""Changing channels: validated, saved and audited in one transaction."""

from django.db import transaction

from ops import audit

TOPIC = "ops.channel"


def save_channel(channel, *, actor=None):
    """Validate (``Channel.clean``), save, and record the change in the audit vault."""
    created = channel._state.adding
    channel.full_clean()
    with transaction.atomic():
        channel.save()
        audit.record(
            TOPIC,
            {
                "channel": channel.name,
                "change": "created" if created else "updated",
                "kind": channel.kind,
                "target": channel.target,
                "enabled": channel.enabled,
                "secret_env": channel.secret_env,
            },
            actor=actor,
        )
    return channel


def delete_channel(channel, *, actor=None) -> None:
    """Delete a channel no notification refers to (the outbox protects its rows)."""
    with transaction.atomic():
        name = channel.name
        channel.delete()
        audit.record(TOPIC, {"channel": name, "change": "deleted"}, actor=actor)
