"""Notification channels: a registry of kinds behind one contract.

    from ops.channels import send, ChannelError, Message
    detail = send(channel, Message(text="Queue still high", marker="hms-notification-7"))

``send`` raises ``ChannelError(permanent=..., retry_after=...)``. Built-in
kinds: ``slack``, ``email``, ``webhook``, ``teams``, ``mattermost``, ``oncall``;
other apps register more through ``ops.channels.registry.register``.
"""

from datetime import datetime

from ops.channels import registry
from ops.channels.base import ChannelError, ChannelKind, Message
from ops.channels.email import EmailChannel
from ops.channels.mattermost import MattermostChannel
from ops.channels.oncall import OncallChannel
from ops.channels.slack import SlackChannel
from ops.channels.teams import TeamsChannel
from ops.channels.webhook import WebhookChannel

for _kind in (
    SlackChannel,
    EmailChannel,
    WebhookChannel,
    TeamsChannel,
    MattermostChannel,
    OncallChannel,
):
    registry.register(_kind)


def kind_of(channel) -> ChannelKind:
    kind_class = registry.get(channel.kind)
    if kind_class is None:
        raise ChannelError(
            f"channel {channel.name!r} has unknown kind {channel.kind!r}", permanent=True
        )
    return kind_class()


def _check_enabled(channel) -> None:
    if not channel.enabled:
        raise ChannelError(f"channel {channel.name!r} is disabled", permanent=True)


def send(channel, message: Message) -> dict:
    """Deliver ``message`` through ``channel``; the delivery detail, or ``ChannelError``."""
    _check_enabled(channel)
    return kind_of(channel).send(channel, message)


def find_delivered(channel, message: Message, since: datetime) -> dict | None:
    """The delivery detail of an earlier attempt of ``message``, if the peer has it."""
    _check_enabled(channel)
    return kind_of(channel).find_delivered(channel, message, since)


__all__ = ["ChannelError", "ChannelKind", "Message", "find_delivered", "registry", "send"]
