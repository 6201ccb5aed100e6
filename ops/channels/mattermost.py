"""Mattermost through an incoming webhook: ``{"text", "channel"?, "username"}``.

``target`` is the webhook URL, or, when ``secret_env`` names the variable
holding the URL (it is a credential), the channel to post to (optional: the
webhook's default channel otherwise, e.g. ``town-square``).
"""

import re

from ops.channels.base import Message
from ops.channels.http import ChatWebhookChannel

USERNAME = "hms-monitor"
CHANNEL_RE = re.compile(r"^@?[a-z0-9][a-z0-9_.-]{0,63}$")


def body(channel, message: Message) -> dict:
    text = f"**{message.subject}**\n{message.text}" if message.subject else message.text
    payload = {"text": text, "username": USERNAME}
    if channel.secret_env and channel.target.strip():
        payload["channel"] = channel.target.strip()
    if message.marker:
        payload["props"] = {"hms_marker": message.marker}
    return payload


class MattermostChannel(ChatWebhookChannel):
    kind = "mattermost"
    label = "Mattermost (incoming webhook)"
    peer = "Mattermost"
    target_help = (
        "Enter the Mattermost incoming-webhook URL, or name the environment "
        "variable holding it in secret_env (then the target is the channel, optional)."
    )

    def check_target(self, channel, errors: dict[str, str]) -> None:
        target = channel.target.strip()
        if channel.secret_env and target and not CHANNEL_RE.match(target):
            errors["target"] = "A Mattermost channel name (town-square) or @username."

    def payload(self, channel, message: Message) -> dict:
        return body(channel, message)
